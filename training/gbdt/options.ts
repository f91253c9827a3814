/**
 * The GBDT trainer's settings (with the defaults `trainGbdt` uses), its validation rows for
 * early stopping, and what it returns; `checkOptions` refuses settings and data it cannot train on.
 */
import type { GbdtParams } from "../../shared/model/artifact";
import type { GbdtModel } from "../../shared/model/gbdt/format";
import { checkLabels, type GbdtObjective, OBJECTIVES } from "./objectives";

export interface GbdtOptions {
  /**
   * The loss (`objectives.ts`): `logistic` (labels 0/1, margin = log-odds), `squared` (margin =
   * the prediction), `quantile` (margin = the `alpha`-quantile) or `poisson` (counts, margin =
   * log of the mean: predict e^margin).
   */
  objective: GbdtObjective;
  /** The quantile the `quantile` objective fits, in (0, 1). */
  alpha: number;
  /** Boosting rounds (trees) at most; early stopping may keep fewer. */
  rounds: number;
  /** Shrinkage: each tree's leaves are scaled by this. */
  learningRate: number;
  /** Deepest split level (a depth-d tree has up to 2^d leaves). */
  maxDepth: number;
  /** Most leaves per tree; 0 means 2^maxDepth. Nodes with the largest gain are split first. */
  maxLeaves: number;
  /** Least hessian sum a child may have (logistic: ≈ p(1−p) summed over rows; squared and quantile: rows). */
  minChildWeight: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Least gain for a split to be made (XGBoost's gamma / min_split_loss). */
  gamma: number;
  /** Share of rows each tree is fitted on (Bernoulli sample per tree). */
  subsample: number;
  /** Share of columns each tree may split on (sampled per tree). */
  colsample: number;
  /** Quantile bins per feature, at most; missing values get one more bin of their own. */
  maxBins: number;
  /** Stop after this many rounds without a better validation loss (0: never stop early). */
  earlyStoppingRounds: number;
  /** Seeds row and column sampling. */
  seed: number;
  /** Starting margin; default the objective's best constant (log-odds of the base rate, mean, quantile, log mean). */
  baseMargin?: number;
}

/** The settings used when none are given. */
export const DEFAULT_GBDT_OPTIONS: GbdtOptions = {
  objective: "logistic",
  alpha: 0.5,
  rounds: 300,
  learningRate: 0.05,
  maxDepth: 4,
  maxLeaves: 0,
  minChildWeight: 1,
  lambda: 1,
  gamma: 0,
  subsample: 0.8,
  colsample: 0.8,
  maxBins: 256,
  earlyStoppingRounds: 30,
  seed: 42,
};

/** Rows to stop early on: row-major like the training matrix, missing inputs NaN. */
export interface GbdtValidation {
  x: Float64Array;
  y: ArrayLike<number>;
  rows: number;
}

export interface GbdtTrainInput extends Partial<GbdtOptions> {
  validation?: GbdtValidation;
  /** Called after every round with the validation loss (the objective's; NaN without validation rows). */
  onRound?: (round: number, validationLoss: number) => void;
}

export interface GbdtResult {
  /** The artifact's model: the trees up to and including `bestIteration`. */
  params: GbdtParams;
  /** The same trees in memory. */
  model: GbdtModel;
  /** 0-based round kept (the last one without validation rows). */
  bestIteration: number;
  /** Rounds actually run. */
  rounds: number;
  /** Mean validation loss (the objective's) at `bestIteration`, when validation rows were given. */
  validationLoss?: number;
  /** Mean training loss (the objective's) of the kept model (on all training rows). */
  trainLoss: number;
  ms: number;
}

/**
 * Throws a RangeError naming the first setting out of range, or a matrix and labels that do not fit.
 *
 * @example
 *   checkOptions({ ...DEFAULT_GBDT_OPTIONS, rounds: 0 }, x, y, rows, cols); // RangeError: rounds must be a whole number >= 1, got 0
 */
export function checkOptions(o: GbdtOptions, x: Float64Array, y: ArrayLike<number>, rows: number, cols: number): void {
  if (!(rows > 0 && cols > 0) || x.length < rows * cols) throw new RangeError(`matrix of ${x.length} values is not ${rows} × ${cols}`);
  if (y.length < rows) throw new RangeError(`${y.length} labels for ${rows} rows`);
  if (!OBJECTIVES.includes(o.objective)) throw new RangeError(`objective must be one of ${OBJECTIVES.join(", ")}, got ${o.objective}`);
  if (o.objective === "quantile" && !(o.alpha > 0 && o.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${o.alpha}`);
  checkLabels(o.objective, y, rows);
  const positive = (name: keyof GbdtOptions, v: number) => {
    if (!(v > 0)) throw new RangeError(`${name} must be > 0, got ${v}`);
  };
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new RangeError(`rounds must be a whole number >= 1, got ${o.rounds}`);
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 0) throw new RangeError(`maxDepth must be a whole number >= 0, got ${o.maxDepth}`);
  positive("learningRate", o.learningRate);
  if (!(o.minChildWeight >= 0)) throw new RangeError(`minChildWeight must be >= 0, got ${o.minChildWeight}`);
  if (!(o.lambda >= 0)) throw new RangeError(`lambda must be >= 0, got ${o.lambda}`);
  if (!(o.gamma >= 0)) throw new RangeError(`gamma must be >= 0, got ${o.gamma}`);
  if (!(o.subsample > 0 && o.subsample <= 1)) throw new RangeError(`subsample must be in (0, 1], got ${o.subsample}`);
  if (!(o.colsample > 0 && o.colsample <= 1)) throw new RangeError(`colsample must be in (0, 1], got ${o.colsample}`);
  if (!Number.isInteger(o.maxBins) || o.maxBins < 2) throw new RangeError(`maxBins must be a whole number >= 2, got ${o.maxBins}`);
  if (cols > 0x7fff) throw new RangeError(`at most 32,767 encoded columns fit the tree format, got ${cols}`);
}
