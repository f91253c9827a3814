/**
 * Applying a model's calibration and reading its confidence. Calibration maps the raw model
 * probability to one that matches observed churn rates (fitted out of fold at training time);
 * the interval is the 90% range of churn rates seen among accounts scored like this one.
 */
import type { Calibration } from "./artifact";
import { sigmoid } from "./sigmoid";

/** Wilson score interval for k successes in n at confidence z (1.645 → 90%). */
export function wilson(k: number, n: number, z = 1.645): [number, number] {
  if (n === 0) return [0, 1];
  const phat = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (phat + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((phat * (1 - phat)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Calibrated probability for a raw probability `p` and raw log-odds `margin`. */
export function calibrate(c: Calibration | undefined, p: number, margin: number): number {
  if (!c || c.method === "none") return p;
  if (c.method === "platt" && c.platt) return sigmoid(c.platt.a * margin + c.platt.b);
  if (c.method === "isotonic" && c.knots) return interpolate(c.knots.x, c.knots.y, p);
  return p;
}

/** Piecewise-linear interpolation through (x, y), flat beyond the ends; x ascending. */
export function interpolate(x: number[], y: number[], v: number): number {
  const n = x.length;
  if (n === 0) return v;
  if (v <= x[0]) return y[0];
  if (v >= x[n - 1]) return y[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid;
  }
  const t = (v - x[lo]) / (x[hi] - x[lo] || 1);
  return y[lo] + t * (y[hi] - y[lo]);
}

export type Confidence = "high" | "medium" | "low";

export interface Certainty {
  interval: [number, number];
  confidence: Confidence;
}

/** Accounts in the cohort an interval speaks for: "of 100 accounts scored like this one". */
export const INTERVAL_COHORT = 100;

/**
 * The interval and confidence of a calibrated probability `p`.
 *
 * Meaning: a 90% prediction interval for the share that will churn among 100 accounts scored
 * like this one. It adds the binomial spread of such a cohort to the uncertainty of the
 * calibration itself (the 90% Wilson interval of the out-of-fold band `p` falls in). Training
 * checks it on the hold-out: cohorts of 100 similarly scored accounts should see their churn
 * rate inside their interval about 90% of the time.
 *
 * Confidence is high when the interval is narrower than 0.15 and every signal was present, low
 * when it is wider than 0.30 or when more than two signals were imputed or a category was never
 * seen in training, medium otherwise.
 */
export function certainty(c: Calibration | undefined, p: number, imputed: number, unseen: number): Certainty {
  const bin = c?.bins.find((b) => p >= b.from && p < b.to) ?? c?.bins.at(-1);
  if (!bin) return { interval: [p, p], confidence: imputed || unseen ? "low" : "medium" };
  const bandSe = (bin.hi - bin.lo) / (2 * 1.645);
  const half = 1.645 * Math.sqrt((p * (1 - p)) / INTERVAL_COHORT + bandSe * bandSe);
  const lo = Math.max(0, p - half);
  const hi = Math.min(1, p + half);
  const width = hi - lo;
  let confidence: Confidence = width < 0.15 ? "high" : width <= 0.3 ? "medium" : "low";
  if (imputed > 2 || unseen > 0) confidence = "low";
  else if (imputed > 0 && confidence === "high") confidence = "medium";
  return { interval: [lo, hi], confidence };
}
