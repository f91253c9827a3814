/**
 * The calibrate step of training: calibration fitted on the chosen recipe's out-of-fold
 * margins, and the thresholds read off the calibrated out-of-fold probabilities (risk tiers,
 * an expansion model's readiness), so no threshold is tuned on the hold-out.
 */
import { atThreshold } from "../../shared/metrics";
import { type Calibration, DEFAULT_TIERS, type TierThresholds } from "../../shared/model/artifact";
import { calibrate } from "../../shared/model/calibration";
import { sigmoid } from "../../shared/model/sigmoid";
import { fitCalibration } from "../calibrate";
import type { Selection } from "../select";
import type { TrainingData } from "./load";
import type { TrainOptions } from "./types";

/** Calibration and thresholds, with the out-of-fold labels and probabilities behind them. */
export interface OutOfFold {
  y: Uint8Array;
  /** Calibrated out-of-fold probabilities, aligned with `y`. */
  probabilities: Float64Array;
  calibration: Calibration;
  tiers: TierThresholds;
  /** Expansion models only; see `bestF1Threshold`. */
  readyThreshold?: number;
  /** How the red tier does out of fold. */
  red: ReturnType<typeof atThreshold>;
}

/**
 * Fits calibration on the selection's out-of-fold margins and sets the tiers: the defaults,
 * or the widest red tier reaching `--red-precision`.
 *
 * @example
 *   const oof = calibrateSelection(data, selection, { data: "telco.csv", redPrecision: 0.8 });
 *   oof.tiers.red; // where out-of-fold precision first reaches 80%
 */
export function calibrateSelection(data: TrainingData, selection: Selection, options: TrainOptions): OutOfFold {
  const y = Uint8Array.from(selection.oofRows, (k) => data.yTrain[k]);
  const calibration = fitCalibration(selection.oofMargin, y);
  const probabilities = Float64Array.from(selection.oofMargin, (z) => calibrate(calibration, sigmoid(z), z));
  const tiers = options.redPrecision != null ? tiersForPrecision(probabilities, y, options.redPrecision) : { ...DEFAULT_TIERS };
  return {
    y,
    probabilities,
    calibration,
    tiers,
    ...(options.target === "expansion" ? { readyThreshold: bestF1Threshold(probabilities, y) } : {}),
    red: atThreshold(y, probabilities, tiers.red),
  };
}

/**
 * The lowest red threshold whose out-of-fold precision reaches `target`: the widest red tier a
 * CS team can trust at that precision. Yellow stays at 0.40 (or just below red if that is lower).
 *
 * @example
 *   tiersForPrecision(oofProbabilities, oofLabels, 0.85); // e.g. { red: 0.62, yellow: 0.4 }
 */
export function tiersForPrecision(p: ArrayLike<number>, y: ArrayLike<number>, target: number): TierThresholds {
  const candidates = [...new Set(Array.from(p))].sort((a, b) => a - b);
  for (const t of candidates) {
    const r = atThreshold(y, p, t);
    // Require a handful of accounts so one lucky account cannot set the tier.
    if (r.flagged >= 5 && r.precision >= target) return { red: t, yellow: Math.min(DEFAULT_TIERS.yellow, t) };
  }
  return { red: 1, yellow: DEFAULT_TIERS.yellow };
}

/**
 * The readiness threshold of an expansion model: the calibrated probability that maximises F1
 * out of fold (at least five accounts flagged), so "ready" balances missed and wasted offers.
 *
 * @example
 *   bestF1Threshold(oofProbabilities, oofExpanded); // e.g. 0.31
 */
export function bestF1Threshold(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  const positives = Array.from(y).reduce((a, v) => a + v, 0);
  let tp = 0;
  let best = { f1: -1, threshold: 0.5 };
  for (let k = 0; k < order.length; k++) {
    tp += y[order[k]];
    // Only cut between distinct probabilities, so everything at the threshold is flagged.
    if (k + 1 < order.length && p[order[k + 1]] === p[order[k]]) continue;
    if (k + 1 < 5) continue;
    const f1 = (2 * tp) / (k + 1 + positives);
    if (f1 > best.f1) best = { f1, threshold: p[order[k]] };
  }
  return best.threshold;
}
