/**
 * Fitting and judging one horizon of the trajectory model: a GBDT of the change of health (squared
 * error or median, whichever calibrates better) plus 5% and 95% quantile GBDTs, the three 90% intervals they allow (split-conformal
 * ± the 90% quantile of absolute errors, the raw quantiles, and the quantiles conformalised),
 * and the hold-out figures: MAE against the "no change" and straight-line-trend baselines and
 * each interval's coverage. Every forecast here goes through the shared `TrajectoryModel`, so
 * what is measured is what the Worker computes.
 */
import type { GbdtParams } from "../../shared/model/artifact";
import { toScale, TrajectoryModel, type TrajectoryForecast, type TrajectoryHorizon, type TrajectoryInterval, trajectoryInputNames, type TrajectoryScale, TRAJECTORY_FORMAT, TRAJECTORY_FORMAT_VERSION } from "../../shared/model/trajectory";
import { type GbdtOptions, trainGbdt } from "../gbdt";
import type { Pairs, PanelInputs } from "./pairs";

/** Coverage the interval is for. */
export const COVERAGE = 0.9;

/**
 * Point-forecast settings tried in order, the first two always and the others while the budget
 * lasts; the lowest calibration MAE is kept. Each depth is tried with squared error (the mean
 * change) and the median (pinball at 0.5): where most accounts' health barely moves and a few
 * fall far, the mean is pulled off the typical change and the median has the lower MAE (CDNOW
 * panel: the mean lost to "no change").
 */
export const SETTINGS: Partial<GbdtOptions>[] = [
  { maxDepth: 3, minChildWeight: 20, objective: "squared" },
  { maxDepth: 3, minChildWeight: 20, objective: "quantile", alpha: 0.5 },
  { maxDepth: 5, minChildWeight: 40, objective: "squared" },
  { maxDepth: 5, minChildWeight: 40, objective: "quantile", alpha: 0.5 },
];
const ALWAYS_TRIED = 2;
export const COMMON: Partial<GbdtOptions> = { rounds: 600, learningRate: 0.05, subsample: 0.8, colsample: 0.8, lambda: 1, earlyStoppingRounds: 40 };

/** The interval methods, as named in the summary and metrics. */
export const INTERVAL_METHODS = ["conformal", "quantile", "conformalized-quantile"] as const;
export type IntervalMethod = (typeof INTERVAL_METHODS)[number];

/** A horizon's fitted trees and the interval of each method, calibrated on the calibration pairs. */
export interface HorizonFit {
  days: number;
  setting: Partial<GbdtOptions>;
  model: GbdtParams;
  lower: GbdtParams;
  upper: GbdtParams;
  intervals: Record<IntervalMethod, TrajectoryInterval>;
  calibrationMae: number;
}

/** Hold-out figures of one horizon. */
export interface HorizonScore {
  pairs: number;
  mae: number;
  maeNoChange: number;
  maeTrend: number;
  /** Per interval method: share of hold-out targets inside, and mean width in health points. */
  intervals: Record<IntervalMethod, { coverage: number; width: number }>;
}

/** Rows `positions` of a horizon's pairs as a training matrix; labels are the change of health on `scale`. */
export function gather(inputs: PanelInputs, pairs: Pairs, positions: Int32Array, scale: TrajectoryScale = "points"): { x: Float64Array; y: Float64Array; rows: number } {
  const { cols } = inputs;
  const x = new Float64Array(positions.length * cols);
  const y = new Float64Array(positions.length);
  positions.forEach((p, i) => {
    const r = pairs.row[p];
    x.set(inputs.x.subarray(r * cols, (r + 1) * cols), i * cols);
    y[i] = toScale(pairs.target[p], scale) - toScale(inputs.x[r * cols], scale);
  });
  return { x, y, rows: positions.length };
}

/** The smallest score with at least ⌈(n + 1) q⌉ of n at or below it: split-conformal's quantile. */
export function conformalQuantile(scores: number[], q: number): number {
  const sorted = [...scores].sort((a, b) => a - b);
  const k = Math.min(sorted.length, Math.ceil((sorted.length + 1) * q));
  return sorted[Math.max(0, k - 1)];
}

/** A one-horizon model over the panel's inputs, for forecasting with the shared maths. */
function horizonModel(signals: readonly string[], horizon: TrajectoryHorizon): TrajectoryModel {
  return new TrajectoryModel({
    format: TRAJECTORY_FORMAT,
    formatVersion: TRAJECTORY_FORMAT_VERSION,
    version: "candidate",
    createdAt: "",
    target: "trajectory",
    signals: [...signals],
    inputs: trajectoryInputNames(signals),
    horizons: [horizon],
    metrics: {},
    training: { dataSha256: "", dataFile: "", rows: 0, accounts: 0, cutoffs: 0, idColumn: "", dateColumn: "", health: { source: "column" }, seed: 0 },
  });
}

/**
 * Forecasts of the pairs at `positions` from one horizon's trees and interval.
 *
 * @example
 *   const f = forecastPairs(signals, inputs, pairs, split.holdout, { days: 30, model, interval });
 */
export function forecastPairs(signals: readonly string[], inputs: PanelInputs, pairs: Pairs, positions: Int32Array, horizon: TrajectoryHorizon): TrajectoryForecast[] {
  const model = horizonModel(signals, horizon);
  const { cols } = inputs;
  return Array.from(positions, (p) => model.forecast(inputs.x.subarray(pairs.row[p] * cols, (pairs.row[p] + 1) * cols))[0]);
}

/**
 * Fits a horizon on the `train` pairs (stopping early on `calibration`) with each setting in
 * turn (the first two always, the rest while `deadline`, performance.now() ms, allows), keeps
 * the one with the lowest calibration MAE, fits the 5% and 95% quantile trees at its depth, and
 * calibrates every interval method on the calibration pairs.
 *
 * @example
 *   const fit = fitHorizon(signals, inputs, pairs, split.train, split.calibration, { seed: 42, deadline: performance.now() + 60_000 });
 */
export function fitHorizon(signals: readonly string[], inputs: PanelInputs, pairs: Pairs, train: Int32Array, calibration: Int32Array, o: { seed: number; deadline: number; settings?: Partial<GbdtOptions>[] }): HorizonFit {
  const t = gather(inputs, pairs, train);
  const c = gather(inputs, pairs, calibration);
  const fitOne = (setting: Partial<GbdtOptions>, extra: Partial<GbdtOptions> = {}) =>
    trainGbdt(t.x, t.y, t.rows, inputs.cols, { ...COMMON, ...setting, ...extra, seed: o.seed, validation: { x: c.x, y: c.y, rows: c.rows } }).params;
  let best: { setting: Partial<GbdtOptions>; model: GbdtParams; mae: number } | null = null;
  for (const [k, setting] of (o.settings ?? SETTINGS).entries()) {
    if (k >= ALWAYS_TRIED && performance.now() > o.deadline) break;
    const model = fitOne(setting);
    const point = forecastPairs(signals, inputs, pairs, calibration, { days: pairs.days, model, interval: { method: "conformal", halfWidth: 0 } });
    const mae = point.reduce((s, f, i) => s + Math.abs(f.health - pairs.target[calibration[i]]), 0) / point.length;
    if (!best || mae < best.mae) best = { setting, model, mae };
  }
  const { setting, model, mae } = best as NonNullable<typeof best>;
  const lower = fitOne(setting, { objective: "quantile", alpha: (1 - COVERAGE) / 2 });
  const upper = fitOne(setting, { objective: "quantile", alpha: (1 + COVERAGE) / 2 });
  const raw: TrajectoryInterval = { method: "quantile", lower, upper, correction: 0 };
  const quantiles = forecastPairs(signals, inputs, pairs, calibration, { days: pairs.days, model, interval: raw });
  const targets = Array.from(calibration, (p) => pairs.target[p]);
  const halfWidth = conformalQuantile(quantiles.map((f, i) => Math.abs(targets[i] - f.health)), COVERAGE);
  const correction = conformalQuantile(quantiles.map((f, i) => Math.max(f.lower - targets[i], targets[i] - f.upper)), COVERAGE);
  return {
    days: pairs.days,
    setting,
    model,
    lower,
    upper,
    intervals: { conformal: { method: "conformal", halfWidth }, quantile: raw, "conformalized-quantile": { method: "quantile", lower, upper, correction } },
    calibrationMae: mae,
  };
}

/**
 * Hold-out figures of a fitted horizon: MAE of its forecasts and of the baselines ("no change":
 * health now; trend: health now plus the last 90 days' least-squares slope times the horizon,
 * clamped, or no change without two points), and each interval method's coverage and width.
 *
 * @example
 *   const score = scoreHorizon(signals, inputs, pairs, split.holdout, fit);
 *   score.mae < score.maeNoChange;
 */
export function scoreHorizon(signals: readonly string[], inputs: PanelInputs, pairs: Pairs, holdout: Int32Array, fit: HorizonFit): HorizonScore {
  const n = holdout.length;
  const targets = Array.from(holdout, (p) => pairs.target[p]);
  const now = Array.from(holdout, (p) => inputs.x[pairs.row[p] * inputs.cols]);
  const trend = Array.from(holdout, (p, i) => {
    const slope = inputs.slope[pairs.row[p]];
    return Number.isFinite(slope) ? Math.min(100, Math.max(0, now[i] + slope * pairs.days)) : now[i];
  });
  const mae = (f: (i: number) => number) => targets.reduce((s, y, i) => s + Math.abs(f(i) - y), 0) / n;
  const intervals = {} as HorizonScore["intervals"];
  let point: TrajectoryForecast[] = [];
  for (const method of INTERVAL_METHODS) {
    const f = forecastPairs(signals, inputs, pairs, holdout, { days: pairs.days, model: fit.model, interval: fit.intervals[method] });
    point = f;
    intervals[method] = {
      coverage: f.filter((g, i) => g.lower <= targets[i] && targets[i] <= g.upper).length / n,
      width: f.reduce((s, g) => s + g.upper - g.lower, 0) / n,
    };
  }
  return { pairs: n, mae: mae((i) => point[i].health), maeNoChange: mae((i) => now[i]), maeTrend: mae((i) => trend[i]), intervals };
}

/**
 * The interval method whose hold-out coverage is closest to 90% (the narrower of equals).
 *
 * @example
 *   pickInterval(score.intervals); // "conformalized-quantile"
 */
export function pickInterval(intervals: HorizonScore["intervals"]): IntervalMethod {
  const gap = (m: IntervalMethod) => Math.abs(intervals[m].coverage - COVERAGE);
  return [...INTERVAL_METHODS].sort((a, b) => gap(a) - gap(b) || intervals[a].width - intervals[b].width)[0];
}
