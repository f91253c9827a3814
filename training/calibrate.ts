/**
 * Fitting calibration on out-of-fold predictions: isotonic regression (pool-adjacent-violators)
 * when there is enough data, Platt scaling otherwise, plus the reliability bins whose Wilson
 * intervals give every score its interval.
 */
import type { Calibration } from "../shared/model/artifact";
import { calibrate, INTERVAL_COHORT, wilson } from "../shared/model/calibration";
import { sigmoid } from "../shared/model/sigmoid";

/** Rows below which isotonic regression overfits and Platt scaling is used instead. */
export const ISOTONIC_MIN_ROWS = 1000;

/**
 * Isotonic regression of labels on raw probabilities by pool-adjacent-violators. Knots sit at
 * each pooled block's mean raw probability, so the map interpolates between blocks.
 */
export function fitIsotonic(p: ArrayLike<number>, y: ArrayLike<number>): { x: number[]; y: number[] } {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[a] - p[b]);
  const sumX: number[] = [];
  const sumY: number[] = [];
  const count: number[] = [];
  for (const i of order) {
    sumX.push(p[i]);
    sumY.push(y[i]);
    count.push(1);
    while (sumY.length > 1) {
      const k = sumY.length - 1;
      if (sumY[k - 1] / count[k - 1] <= sumY[k] / count[k]) break;
      sumX[k - 1] += sumX[k];
      sumY[k - 1] += sumY[k];
      count[k - 1] += count[k];
      sumX.pop();
      sumY.pop();
      count.pop();
    }
  }
  return { x: sumX.map((s, k) => s / count[k]), y: sumY.map((s, k) => s / count[k]) };
}

/** Platt scaling: a 1-D logistic regression of labels on the margin, by Newton's method. */
export function fitPlatt(margin: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number } {
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0, gb = 0, haa = 1e-9, hab = 0, hbb = 1e-9;
    for (let i = 0; i < margin.length; i++) {
      const z = a * margin[i] + b;
      const q = sigmoid(z);
      const r = q - y[i];
      const w = q * (1 - q);
      ga += r * margin[i];
      gb += r;
      haa += w * margin[i] * margin[i];
      hab += w * margin[i];
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b };
}

/** Quantile bins of calibrated probabilities with their observed churn and a 90% Wilson interval. */
export function reliabilityBins(pCal: ArrayLike<number>, y: ArrayLike<number>, bins = 10): Calibration["bins"] {
  const order = Array.from({ length: pCal.length }, (_, i) => i).sort((a, b) => pCal[a] - pCal[b]);
  const out: Calibration["bins"] = [];
  const size = Math.ceil(order.length / bins);
  for (let start = 0; start < order.length; start += size) {
    const idx = order.slice(start, start + size);
    const positives = idx.reduce((n, i) => n + y[i], 0);
    const [lo, hi] = wilson(positives, idx.length);
    out.push({ from: start === 0 ? 0 : pCal[idx[0]], to: 1, n: idx.length, positives, lo, hi });
  }
  for (let k = 0; k < out.length - 1; k++) out[k].to = out[k + 1].from;
  // Ties can make a bin empty in range; merge such bins into their neighbour.
  return out.filter((b) => b.to > b.from || b === out.at(-1));
}

/**
 * Chooses and fits calibration on out-of-fold margins and labels. Isotonic with enough rows,
 * Platt otherwise; the bins then describe the calibrated out-of-fold probabilities.
 */
export function fitCalibration(oofMargin: ArrayLike<number>, y: ArrayLike<number>): Calibration {
  const n = oofMargin.length;
  const raw = Float64Array.from(oofMargin, sigmoid);
  const c: Calibration =
    n >= ISOTONIC_MIN_ROWS ? { method: "isotonic", knots: fitIsotonic(raw, y), bins: [] } : { method: "platt", platt: fitPlatt(oofMargin, y), bins: [] };
  const calibrated = Float64Array.from(raw, (p, i) => calibrate(c, p, oofMargin[i]));
  c.bins = reliabilityBins(calibrated, y, Math.max(3, Math.min(20, Math.floor(n / 150))));
  return c;
}

/** The reliability table and ECE live with the other metrics (monitoring uses them too). */
export { calibrationReport } from "../shared/metrics";

/**
 * Held-out check of the intervals, as they are meant: held-out accounts sorted by probability
 * are cut into cohorts of INTERVAL_COHORT (the last one absorbs the remainder); a cohort is
 * covered when its observed churn rate lies within its accounts' mean interval. Returns the
 * share of cohorts covered (the target is about 90%) and the mean interval width.
 */
export function intervalCoverage(_c: Calibration, pCal: ArrayLike<number>, intervals: [number, number][], y: ArrayLike<number>): { coverage: number; meanWidth: number; cohorts: number } {
  const order = Array.from({ length: pCal.length }, (_, i) => i).sort((a, b) => pCal[a] - pCal[b]);
  const count = Math.max(1, Math.floor(order.length / INTERVAL_COHORT));
  let covered = 0;
  let width = 0;
  for (let k = 0; k < count; k++) {
    const idx = order.slice(k * INTERVAL_COHORT, k === count - 1 ? order.length : (k + 1) * INTERVAL_COHORT);
    const rate = idx.reduce((a, i) => a + y[i], 0) / idx.length;
    const lo = idx.reduce((a, i) => a + intervals[i][0], 0) / idx.length;
    const hi = idx.reduce((a, i) => a + intervals[i][1], 0) / idx.length;
    if (rate >= lo && rate <= hi) covered++;
  }
  for (const [lo, hi] of intervals) width += hi - lo;
  return { coverage: covered / count, meanWidth: width / Math.max(1, intervals.length), cohorts: count };
}
