/**
 * Cross-fitting one horizon by account, for a model judged elsewhere (the backtest's
 * `judge: false`): every pair whose target is known trains, the freshest included, and the
 * interval is calibrated on out-of-fold errors instead of on a purged split by date (which
 * needs cutoffs spanning twice the horizon, and then trains only on pairs a horizon older than
 * the newest: on CDNOW no model at the first three origins, and the rest a season behind).
 * Accounts, not pairs, are dealt into folds, so no account's path is both fitted and judged.
 *
 * The change is learnt on the log-odds scale by default (`toScale` in shared/model/trajectory.ts)
 * and the interval is conformalised quantile regression (Romano, Patterson and Candès 2019): its
 * width follows each account, narrow where the path is all but certain and wide where an event
 * could move it, which holds its coverage better than one half-width for all when the accounts
 * forecast differ from those trained on (CDNOW backtest, every pair known at each origin, 90-day coverage: 0.883 against 0.878
 * for the conformal half-width on the same scale, and 0.866 for quantiles in health points).
 */
import type { GbdtParams } from "../../shared/model/artifact";
import { GbdtScorer } from "../../shared/model/gbdt/scorer";
import { fromScale, type TrajectoryInterval, type TrajectoryScale, toScale } from "../../shared/model/trajectory";
import { type GbdtOptions, trainGbdt } from "../gbdt";
import { mulberry32 } from "../split";
import { COMMON, conformalQuantile, COVERAGE, forecastPairs, gather, SETTINGS } from "./fit";
import type { Pairs, PanelInputs } from "./pairs";

/** Folds accounts are dealt into. */
export const CROSS_FOLDS = 3;
/** Point settings always tried (the rest while the deadline allows), as in `fitHorizon`. */
const ALWAYS_TRIED = 2;
/** Boosting settings of every fit here: `fitHorizon`'s, at twice the learning rate (each horizon fits 3 × (folds + 1) ensembles). */
const CROSS_COMMON: Partial<GbdtOptions> = { ...COMMON, learningRate: 0.1, rounds: 400, earlyStoppingRounds: 30 };

export interface CrossFit {
  days: number;
  setting: Partial<GbdtOptions>;
  /** Refitted on every pair, with the folds' mean number of trees. */
  model: GbdtParams;
  /** The 5% and 95% quantile trees, widened by `correction` on the scale. */
  interval: Extract<TrajectoryInterval, { method: "quantile" }>;
  scale: TrajectoryScale;
  /** MAE of the out-of-fold forecasts. */
  mae: number;
  /** Pairs cross-fitted. */
  pairs: number;
}

/** Each position's fold: accounts shuffled by `seed`, then dealt round-robin. */
function foldsOf(pairs: Pairs, positions: Int32Array, folds: number, seed: number): Int32Array {
  const accounts = [...new Set(Array.from(positions, (p) => pairs.account[p]))].sort((a, b) => a - b);
  const random = mulberry32(seed);
  for (let i = accounts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [accounts[i], accounts[j]] = [accounts[j], accounts[i]];
  }
  const fold = new Map(accounts.map((a, i) => [a, i % folds]));
  return Int32Array.from(positions, (p) => fold.get(pairs.account[p]) as number);
}

/**
 * Cross-fits a horizon on `positions`, on `scale` (default log-odds): per fold, trees on the other
 * folds stopping early on it, for the point (the setting with the lowest first-fold MAE, the
 * first two always, the rest while `deadline` allows) and for the 5% and 95% quantiles at its
 * depth; the interval's correction is the split-conformal 90% quantile of the out-of-fold
 * conformity scores (how far each target falls outside its fold's quantiles); the shipped trees
 * are refitted on every pair with the folds' mean number of rounds. Null with fewer accounts
 * than folds.
 *
 * @example
 *   const fit = fitHorizonCross(signals, inputs, pairs, all, { seed: 42, deadline: performance.now() + 20_000 });
 */
export function fitHorizonCross(
  signals: readonly string[],
  inputs: PanelInputs,
  pairs: Pairs,
  positions: Int32Array,
  o: { seed: number; deadline: number; folds?: number; scale?: TrajectoryScale },
): CrossFit | null {
  const k = o.folds ?? CROSS_FOLDS;
  const scale = o.scale ?? "log-odds";
  if (new Set(Array.from(positions, (p) => pairs.account[p])).size < k) return null;
  const fold = foldsOf(pairs, positions, k, o.seed);
  const part = (f: number, inside: boolean) => positions.filter((_, i) => (fold[i] === f) === inside);
  const data = Array.from({ length: k }, (_, f) => ({ train: gather(inputs, pairs, part(f, false), scale), held: gather(inputs, pairs, part(f, true), scale), at: part(f, true) }));
  const fitFold = (f: number, setting: Partial<GbdtOptions>) => {
    const { train: t, held: v } = data[f];
    return trainGbdt(t.x, t.y, t.rows, inputs.cols, { ...CROSS_COMMON, ...setting, seed: o.seed, validation: { x: v.x, y: v.y, rows: v.rows } });
  };
  /** A fold's held-out rows' margins (the change on the scale) from some trees. */
  const margins = (f: number, model: GbdtParams) => {
    const scorer = new GbdtScorer(model);
    const { held } = data[f];
    return Array.from({ length: held.rows }, (_, i) => scorer.margin(held.x.subarray(i * inputs.cols, (i + 1) * inputs.cols)));
  };
  let best: { setting: Partial<GbdtOptions>; model: GbdtParams; trees: number; mae: number } | null = null;
  for (const [s, setting] of SETTINGS.entries()) {
    if (s >= ALWAYS_TRIED && performance.now() > o.deadline) break;
    const fit = fitFold(0, setting);
    const at = data[0].at;
    const forecasts = forecastPairs(signals, inputs, pairs, at, { days: pairs.days, model: fit.params, interval: { method: "conformal", halfWidth: 0 }, scale });
    const mae = forecasts.reduce((a, g, i) => a + Math.abs(g.health - pairs.target[at[i]]), 0) / at.length;
    if (!best || mae < best.mae) best = { setting, model: fit.params, trees: fit.bestIteration + 1, mae };
  }
  const chosen = best as NonNullable<typeof best>;
  const tails = [(1 - COVERAGE) / 2, (1 + COVERAGE) / 2].map((alpha) => ({ ...chosen.setting, objective: "quantile" as const, alpha }));
  const trees = [0, 0, 0];
  const errors: number[] = [];
  const scores: number[] = [];
  for (let f = 0; f < k; f++) {
    const point = f === 0 ? { params: chosen.model, bestIteration: chosen.trees - 1 } : fitFold(f, chosen.setting);
    const [lower, upper] = tails.map((setting) => fitFold(f, setting));
    [point, lower, upper].forEach((m, i) => (trees[i] += m.bestIteration + 1));
    const [mid, lo, hi] = [point, lower, upper].map((m) => margins(f, m.params));
    const { held, at } = data[f];
    for (let i = 0; i < held.rows; i++) {
      const y = held.y[i];
      // The least correction c that covers y in the interval as TrajectoryModel draws it,
      // [min(point, lower − c), max(point, upper + c)]: a target at the point is always covered.
      scores.push(y < mid[i] ? lo[i] - y : y > mid[i] ? y - hi[i] : Math.min(0, Math.max(lo[i] - y, y - hi[i])));
      const now = inputs.x[pairs.row[at[i]] * inputs.cols];
      errors.push(Math.abs(Math.min(100, Math.max(0, fromScale(toScale(now, scale) + mid[i], scale))) - pairs.target[at[i]]));
    }
  }
  const t = gather(inputs, pairs, positions, scale);
  const refit = (setting: Partial<GbdtOptions>, n: number) => trainGbdt(t.x, t.y, t.rows, inputs.cols, { ...CROSS_COMMON, ...setting, rounds: Math.max(1, Math.round(n / k)), earlyStoppingRounds: 0, seed: o.seed }).params;
  const model = refit(chosen.setting, trees[0]);
  const [lower, upper] = tails.map((setting, i) => refit(setting, trees[i + 1]));
  const correction = conformalQuantile(scores, COVERAGE);
  const mae = errors.reduce((a, b) => a + b, 0) / errors.length;
  return { days: pairs.days, setting: chosen.setting, model, interval: { method: "quantile", lower, upper, correction }, scale, mae, pairs: positions.length };
}
