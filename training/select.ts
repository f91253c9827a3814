/**
 * Model selection: k-fold cross-validation of the model families (logistic regression, an MLP,
 * gradient-boosted trees and a blend of the best linear and tree models), with a small
 * hyperparameter search that stops when the time budget runs out. Every candidate is fitted
 * from raw rows by `fitRecipe`, so the fold fits, the hold-out fit and the final refit all take
 * exactly the same path.
 */
import type { Csv } from "../shared/csv";
import { buildArtifact, type Calibration, DEFAULT_TIERS, type GbdtParams, type LogisticParams, type ModelParams, type TierThresholds } from "../shared/model/artifact";
import type { FeatureSpec } from "../shared/model/features";
import { prAuc, rocAuc, logLoss } from "../shared/metrics";
import { Scorer } from "../shared/model/scorer";
import { sigmoid } from "../shared/model/sigmoid";
import { columnMeans, encodeMatrix } from "./dataset";
import { trainGbdt, type GbdtOptions } from "./gbdt";
import { inferFeatures } from "./infer";
import { DEFAULT_FIT_OPTIONS, fitLogistic, type FitOptions } from "./logistic";
import { fitMlp, type MlpOptions } from "./mlp";
import { mulberry32, shuffleInPlace } from "./split";

export type Family = "logistic" | "mlp" | "gbdt";

/** A family with its settings: what a fold, the hold-out fit and the final refit all fit. */
export type Recipe =
  | { family: "logistic"; name: string; options: Partial<FitOptions> }
  | { family: "mlp"; name: string; options: Partial<MlpOptions> }
  | { family: "gbdt"; name: string; options: Partial<GbdtOptions> }
  | { family: "blend"; name: string; linear: Recipe & { family: "logistic" }; trees: Recipe & { family: "gbdt" }; weight: number };

/** The candidates in the order they are tried; later ones are skipped when the budget is spent. */
export function candidateRecipes(seed: number): Recipe[] {
  return [
    { family: "logistic", name: "logistic (L2 1e-4)", options: { seed } },
    { family: "gbdt", name: "gbdt depth 4, lr 0.05", options: { maxDepth: 4, learningRate: 0.05, seed } },
    { family: "gbdt", name: "gbdt depth 3, lr 0.05", options: { maxDepth: 3, learningRate: 0.05, seed } },
    { family: "gbdt", name: "gbdt depth 6, lr 0.05, min child 5", options: { maxDepth: 6, learningRate: 0.05, minChildWeight: 5, seed } },
    { family: "mlp", name: "mlp 32-16", options: { hidden: [32, 16], seed } },
    { family: "logistic", name: "logistic (L2 1e-2)", options: { l2: 1e-2, seed } },
    { family: "gbdt", name: "gbdt depth 2, lr 0.1", options: { maxDepth: 2, learningRate: 0.1, seed } },
  ];
}

export interface Fitted {
  features: FeatureSpec[];
  baseline: number[];
  model: ModelParams;
  /** For GBDT fitted with early stopping: the round kept. */
  bestIteration?: number;
}

export interface FitInput {
  csv: Csv;
  records: Record<string, string>[];
  label: string;
  id: string | null;
  /** Columns never used as features (e.g. the --time column). */
  exclude: string[];
}

function inferOn(input: FitInput, rows: number[]): FeatureSpec[] {
  const inference = inferFeatures(input.csv, { label: input.label, id: input.id, rows });
  return inference.features.filter((f) => !input.exclude.includes(f.name));
}

/**
 * Fits `recipe` on the CSV rows `rows` with labels `y` (aligned with `rows`). When `validRows`
 * is given, GBDT stops early on them; otherwise it runs `rounds` rounds if set.
 */
export async function fitRecipe(recipe: Recipe, input: FitInput, rows: number[], y: Uint8Array, valid?: { rows: number[]; y: Uint8Array }, rounds?: number): Promise<Fitted> {
  const features = inferOn(input, rows);
  const filled = encodeMatrix(features, input.records, rows);
  const baseline = columnMeans(filled);
  if (recipe.family === "logistic") {
    const fit = await fitLogistic(filled.x, y, filled.rows, filled.cols, { ...DEFAULT_FIT_OPTIONS, ...recipe.options });
    return { features, baseline, model: { family: "logistic", intercept: fit.intercept, weights: fit.weights } };
  }
  if (recipe.family === "mlp") {
    const fit = await fitMlp(filled.x, y, filled.rows, filled.cols, recipe.options);
    return { features, baseline, model: fit.params };
  }
  if (recipe.family === "gbdt") {
    const nan = encodeMatrix(features, input.records, rows, true);
    const validation = valid ? { ...encodeMatrix(features, input.records, valid.rows, true), y: valid.y } : undefined;
    const fit = trainGbdt(nan.x, y, nan.rows, nan.cols, {
      ...recipe.options,
      ...(rounds ? { rounds, earlyStoppingRounds: 0 } : {}),
      ...(validation ? { validation: { x: validation.x, y: validation.y, rows: validation.rows } } : {}),
    });
    return { features, baseline, model: fit.params, bestIteration: fit.bestIteration };
  }
  const [linear, trees] = await Promise.all([fitRecipe(recipe.linear, input, rows, y), fitRecipe(recipe.trees, input, rows, y, valid, rounds)]);
  return {
    features: linear.features,
    baseline: linear.baseline,
    model: {
      family: "blend",
      intercept: 0,
      members: [
        { weight: recipe.weight, model: linear.model as LogisticParams },
        { weight: 1 - recipe.weight, model: trees.model as GbdtParams },
      ],
    },
    bestIteration: trees.bestIteration,
  };
}

/**
 * The edge scorer for a fitted model that is not an artifact yet (no version, metrics or
 * provenance), so cross-validation and the hold-out are scored exactly as the Worker will.
 *
 * @example
 *   const p = scorerFor(fitted, calibration).probability(records[i]);
 */
export function scorerFor(fitted: Fitted, calibration?: Calibration, tiers: TierThresholds = DEFAULT_TIERS): Scorer {
  return new Scorer(
    buildArtifact({
      version: "cv",
      createdAt: "",
      target: "churn",
      label: { column: "", positive: "" },
      idColumn: null,
      arrColumn: null,
      features: fitted.features,
      baseline: fitted.baseline,
      model: fitted.model,
      calibration,
      tiers,
      metrics: {},
      training: { dataSha256: "", dataFile: "", rows: 0, positives: 0, holdoutRows: 0, seed: 0, excludedColumns: [] },
    }),
  );
}

/** Log-odds of a fitted model on the CSV rows `rows`, through the edge scorer itself. */
export function marginsOf(fitted: Fitted, records: Record<string, string>[], rows: number[]): Float64Array {
  const scorer = scorerFor(fitted);
  return Float64Array.from(rows, (r) => scorer.margin(records[r]));
}

/** k stratified folds over positions 0..n-1, or k contiguous time blocks when `order` is given. */
export function makeFolds(y: ArrayLike<number>, k: number, seed: number, order?: number[]): { train: number[]; valid: number[] }[] {
  const n = y.length;
  if (order) {
    // Forward chaining: block b is validated by a model trained on blocks before it only.
    const size = Math.ceil(n / k);
    const blocks = Array.from({ length: k }, (_, b) => order.slice(b * size, (b + 1) * size));
    return blocks.slice(1).map((valid, b) => ({ train: blocks.slice(0, b + 1).flat(), valid }));
  }
  const random = mulberry32(seed);
  const byClass = [0, 1].map((c) => {
    const idx = Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === c);
    shuffleInPlace(idx, random);
    return idx;
  });
  const foldOf = new Int32Array(n);
  for (const idx of byClass) idx.forEach((i, j) => (foldOf[i] = j % k));
  return Array.from({ length: k }, (_, f) => ({
    train: Array.from({ length: n }, (_, i) => i).filter((i) => foldOf[i] !== f),
    valid: Array.from({ length: n }, (_, i) => i).filter((i) => foldOf[i] === f),
  }));
}

export interface LeaderboardRow {
  name: string;
  family: Recipe["family"];
  auc: number;
  prAuc: number;
  logLoss: number;
  seconds: number;
  exact: boolean;
}

export interface Selection {
  recipe: Recipe;
  leaderboard: LeaderboardRow[];
  /** Out-of-fold log-odds of the chosen recipe, at `oofRows` (positions into the rows given). */
  oofMargin: Float64Array;
  oofRows: number[];
  /** Rounds to use when refitting a tree model without a validation set. */
  rounds?: number;
  skipped: string[];
  folds: number;
}

export interface SelectOptions {
  folds: number;
  budgetSeconds: number;
  seed: number;
  /** Positions sorted oldest first, for time-ordered folds (--time). */
  timeOrder?: number[];
  /** Restrict to one family (--family). */
  family?: Family;
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Simplest first: the order the one-standard-error rule prefers among equivalent candidates. */
const COMPLEXITY: Record<Recipe["family"], number> = { logistic: 0, gbdt: 1, blend: 2, mlp: 3 };

/**
 * Cross-validates the candidates on CSV rows `rows` (labels `y`, aligned), within the budget,
 * and picks the best by out-of-fold ROC-AUC; a linear/tree blend is tried from the two best.
 */
export async function selectModel(input: FitInput, rows: number[], y: Uint8Array, o: SelectOptions): Promise<Selection> {
  const started = performance.now();
  const folds = makeFolds(y, o.folds, o.seed, o.timeOrder);
  const oofPositions = [...new Set(folds.flatMap((f) => f.valid))].sort((a, b) => a - b);
  const slot = new Int32Array(y.length).fill(-1);
  oofPositions.forEach((p, k) => (slot[p] = k));
  const yOof = Uint8Array.from(oofPositions, (p) => y[p]);

  const recipes = candidateRecipes(o.seed).filter((r) => !o.family || r.family === o.family);
  const results: { recipe: Recipe; oof: Float64Array; row: LeaderboardRow; rounds?: number }[] = [];
  // Per-fold ROC-AUC of an out-of-fold vector: the paired comparison behind the 1-SE rule.
  const foldSlots = folds.map((f) => f.valid.map((p) => slot[p]));
  const foldAucs = (oof: Float64Array) => foldSlots.map((slots) => rocAuc(Uint8Array.from(slots, (k) => yOof[k]), Float64Array.from(slots, (k) => oof[k])));
  const skipped: string[] = [];
  const total = recipes.length * folds.length;
  let done = 0;
  for (const recipe of recipes) {
    const spent = (performance.now() - started) / 1000;
    // Always run the first linear and the first tree candidate; the rest only within budget.
    const essential = results.every((r) => r.recipe.family !== recipe.family) && recipe.family !== "mlp";
    if (!essential && spent > o.budgetSeconds) {
      skipped.push(recipe.name);
      done += folds.length;
      continue;
    }
    const t0 = performance.now();
    const oof = new Float64Array(oofPositions.length);
    const iterations: number[] = [];
    for (const fold of folds) {
      o.onProgress?.(done, total, `${recipe.name}`);
      const fit = await fitRecipe(recipe, input, fold.train.map((p) => rows[p]), Uint8Array.from(fold.train, (p) => y[p]), {
        rows: fold.valid.map((p) => rows[p]),
        y: Uint8Array.from(fold.valid, (p) => y[p]),
      });
      if (fit.bestIteration) iterations.push(fit.bestIteration);
      const m = marginsOf(fit, input.records, fold.valid.map((p) => rows[p]));
      fold.valid.forEach((p, k) => (oof[slot[p]] = m[k]));
      done++;
    }
    o.onProgress?.(done, total, recipe.name);
    const rounds = iterations.length ? Math.max(10, Math.round((iterations.reduce((a, b) => a + b, 0) / iterations.length) * 1.1)) : undefined;
    results.push({ recipe, oof, rounds, row: leaderboardRow(recipe.name, recipe.family, oof, yOof, (performance.now() - t0) / 1000) });
  }

  const best = (family: string) => results.filter((r) => r.recipe.family === family).sort((a, b) => b.row.auc - a.row.auc)[0];
  const linear = best("logistic");
  const trees = best("gbdt");
  if (linear && trees) {
    // The blend weight follows the same one-standard-error rule as the candidates: the most
    // linear mix whose fold-by-fold ROC-AUC is within one standard error of the best mix.
    const mixes = Array.from({ length: 11 }, (_, k) => {
      const w = k / 10;
      const oof = Float64Array.from(linear.oof, (v, i) => w * v + (1 - w) * trees.oof[i]);
      return { weight: w, oof, aucs: foldAucs(oof) };
    });
    const mean = (a: number[]) => a.reduce((x, v) => x + v, 0) / a.length;
    const top = mixes.reduce((a, b) => (mean(b.aucs) > mean(a.aucs) ? b : a));
    const pick = mixes.filter((m) => withinOneSe(top.aucs, m.aucs)).reduce((a, b) => (b.weight > a.weight ? b : a));
    if (pick.weight > 0 && pick.weight < 1) {
      const recipe: Recipe = { family: "blend", name: `blend ${pick.weight} × ${linear.recipe.name} + ${Math.round((1 - pick.weight) * 10) / 10} × ${trees.recipe.name}`, linear: linear.recipe as never, trees: trees.recipe as never, weight: pick.weight };
      results.push({ recipe, oof: pick.oof, rounds: trees.rounds, row: leaderboardRow(recipe.name, "blend", pick.oof, yOof, linear.row.seconds + trees.row.seconds) });
    }
  }

  // One-standard-error rule: among candidates whose fold-by-fold ROC-AUC is within one standard
  // error of the best one's (paired over the same folds), ship the simplest. Simpler models are
  // steadier on new data and easier to explain; a real gain from trees survives the rule.
  const ranked = [...results].sort((a, b) => b.row.auc - a.row.auc);
  const bestAucs = foldAucs(ranked[0].oof);
  const equivalent = ranked.filter((r) => withinOneSe(bestAucs, foldAucs(r.oof)));
  const explainable = equivalent.filter((r) => r.row.exact);
  const pool = o.family === "mlp" || explainable.length === 0 ? equivalent : explainable;
  const chosen = [...pool].sort((a, b) => COMPLEXITY[a.recipe.family] - COMPLEXITY[b.recipe.family] || b.row.auc - a.row.auc)[0];
  return {
    recipe: chosen.recipe,
    leaderboard: ranked.map((r) => r.row),
    oofMargin: chosen.oof,
    oofRows: oofPositions,
    rounds: chosen.rounds,
    skipped,
    folds: folds.length,
  };
}

/** True when `candidate` trails `best` by at most one standard error of their paired fold differences. */
function withinOneSe(best: number[], candidate: number[]): boolean {
  const d = candidate.map((a, k) => best[k] - a);
  const mean = d.reduce((x, v) => x + v, 0) / d.length;
  const se = Math.sqrt(d.reduce((x, v) => x + (v - mean) ** 2, 0) / Math.max(1, d.length - 1) / d.length);
  return mean <= se;
}

function leaderboardRow(name: string, family: Recipe["family"], oof: Float64Array, y: Uint8Array, seconds: number): LeaderboardRow {
  const p = Float64Array.from(oof, sigmoid);
  return { name, family, auc: rocAuc(y, p), prAuc: prAuc(y, p), logLoss: logLoss(y, p), seconds, exact: family !== "mlp" };
}
