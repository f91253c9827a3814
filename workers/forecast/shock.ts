/**
 * The forecast's shared shock, as numbers: the grid of shock values (in standard deviations) that
 * serves both as quadrature nodes for exact expectations and as the lookup table of the normal
 * approximation, the mean-matching of each probability (so a shock of σ leaves its mean where it
 * was), and the conditional moments of churned and expansion ARR at each grid point. Pure.
 */
import { sigmoid } from "../../shared/model/sigmoid";
import type { Hazards } from "./hazards";

export const STEP = 0.25;
/** The shock grid in standard deviations: quadrature nodes and the normal part's lookup table. */
export const GRID = Array.from({ length: 49 }, (_, k) => -6 + k * STEP);
export const WEIGHTS = (() => {
  const raw = GRID.map((u) => Math.exp(-0.5 * u * u));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((r) => r / total);
})();

/** Log-odds grid of the mean-matching table. */
const L_MIN = -20;
const L_STEP = 0.01;
const L_POINTS = 4001;
const tables = new Map<number, Float64Array>();

/** m(l) = E_u[sigmoid(l + σu)] on the log-odds grid, once per σ. */
function meanTable(sigma: number): Float64Array {
  let t = tables.get(sigma);
  if (t) return t;
  t = new Float64Array(L_POINTS);
  for (let j = 0; j < L_POINTS; j++) {
    let m = 0;
    for (let k = 0; k < GRID.length; k++) m += WEIGHTS[k] * sigmoid(L_MIN + j * L_STEP + sigma * GRID[k]);
    t[j] = m;
  }
  if (tables.size > 32) tables.clear();
  tables.set(sigma, t);
  return t;
}

/**
 * The log-odds l* whose shocked mean E_u[sigmoid(l* + σu)] is `p`: ±Infinity for 0 and 1, which
 * no shock moves. Beyond the table the tails are log-normal: E[e^{l + σu}] = e^{l + σ²/2}.
 *
 * @example
 *   sigmoid(matchedLogit(0.2, 0)); // 0.2
 */
export function matchedLogit(p: number, sigma: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const logit = Math.log(p / (1 - p));
  if (sigma === 0) return logit;
  const t = meanTable(sigma);
  if (p <= t[0]) return logit - (sigma * sigma) / 2;
  if (p >= t[L_POINTS - 1]) return logit + (sigma * sigma) / 2;
  let lo = 0;
  let hi = L_POINTS - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (t[mid] <= p) lo = mid;
    else hi = mid;
  }
  return L_MIN + (lo + (p - t[lo]) / (t[hi] - t[lo])) * L_STEP;
}

/** Grid tables of the accounts not drawn one by one: conditional mean and variance per grid point and window. */
type Tables = Moments;
export const tablesFor = (windows: number): Tables => ({ mean: new Float64Array(GRID.length * windows), variance: new Float64Array(GRID.length * windows) });

/** Linear interpolation of a grid table at shock u (in sd), window j. */
export function lookup(t: Tables, u: number, j: number, windows: number): { mean: number; sd: number } {
  const at = (Math.min(6, Math.max(-6, u)) + 6) / STEP;
  const k = Math.min(GRID.length - 2, Math.floor(at));
  const f = at - k;
  const a = k * windows + j;
  const b = a + windows;
  return { mean: t.mean[a] * (1 - f) + t.mean[b] * f, sd: Math.sqrt(Math.max(0, t.variance[a] * (1 - f) + t.variance[b] * f)) };
}


/** Per shock grid point and window: the conditional mean and variance of the accounts not in `skip`. */
export interface Moments {
  mean: Float64Array;
  variance: Float64Array;
}

/**
 * One pass over the churn shock's grid: every account's expected churned ARR and survival (the
 * quadrature), and for the accounts not in `skip` the conditional moments of churned ARR and of
 * renewals due (count and ARR) at each grid point.
 */
export function churnMoments(h: Hazards, logits: Float64Array, sigma: number, skip: Uint8Array) {
  const { accounts: n, windows: w } = h;
  const contribChurn = new Float64Array(n * w);
  const survival = new Float64Array(n * w);
  const tables = { churned: tablesFor(w), dueCount: tablesFor(w), dueArr: tablesFor(w) };
  const { churned, dueCount, dueArr } = tables;
  for (const k of sigma === 0 ? [0] : GRID.map((_, k) => k)) {
    const z = sigma === 0 ? 0 : sigma * GRID[k];
    const weight = sigma === 0 ? 1 : WEIGHTS[k];
    for (let i = 0; i < n; i++) {
      let alive = 1;
      const a = h.arr[i];
      for (let j = 0; j < w; j++) {
        const x = i * w + j;
        const p = sigmoid(logits[x] + z);
        const pi = alive * p;
        contribChurn[x] += weight * a * pi;
        survival[x] += weight * alive;
        if (!skip[i]) {
          const cell = k * w + j;
          churned.mean[cell] += a * pi;
          churned.variance[cell] += a * a * pi * (1 - pi);
          if (h.due[x]) {
            dueCount.mean[cell] += alive;
            dueCount.variance[cell] += alive * (1 - alive);
            dueArr.mean[cell] += a * alive;
            dueArr.variance[cell] += a * a * alive * (1 - alive);
          }
        }
        alive *= 1 - p;
      }
    }
  }
  if (sigma === 0) for (const t of [churned, dueCount, dueArr]) spread(t, w);
  return { contribChurn, survival, tables };
}

/** The conditional moments of expansion ARR over the expansion shock's grid, for the accounts not in `skip`. */
export function expansionMoments(h: Hazards, logits: Float64Array, sigma: number, survival: Float64Array, skip: Uint8Array): Moments {
  const { accounts: n, windows: w } = h;
  const expanded = tablesFor(w);
  for (const k of sigma === 0 ? [0] : GRID.map((_, k) => k)) {
    const z = sigma === 0 ? 0 : sigma * GRID[k];
    for (let i = 0; i < n; i++) {
      if (skip[i]) continue;
      for (let j = 0; j < w; j++) {
        const x = i * w + j;
        const pi = survival[x] * sigmoid(logits[x] + z);
        expanded.mean[k * w + j] += h.size[i] * pi;
        expanded.variance[k * w + j] += h.size[i] * h.size[i] * pi * (1 - pi);
      }
    }
  }
  if (sigma === 0) spread(expanded, w);
  return expanded;
}

/**
 * The density of `y` under the shock model's normal approximation: the grid-weighted mixture of
 * the conditional normals in `m` for window `j`. What the backtest maximises to calibrate σ.
 */
export function mixtureDensity(m: Moments, j: number, windows: number, y: number): number {
  let f = 0;
  for (let k = 0; k < GRID.length; k++) {
    const mean = m.mean[k * windows + j];
    const sd = Math.sqrt(Math.max(m.variance[k * windows + j], 1e-12));
    f += (WEIGHTS[k] * Math.exp(-0.5 * ((y - mean) / sd) ** 2)) / (sd * Math.sqrt(2 * Math.PI));
  }
  return f;
}

/** Each probability's mean-matched log-odds under a shock of `sigma`. */
export function matchedLogits(p: Float64Array, sigma: number): Float64Array {
  return p.map((v) => matchedLogit(v, sigma));
}

/** Without a shock the tables hold one grid point: copy it to all, so lookups at any u agree. */
function spread(t: Tables, windows: number): void {
  for (let k = 1; k < GRID.length; k++) {
    for (let j = 0; j < windows; j++) {
      t.mean[k * windows + j] = t.mean[j];
      t.variance[k * windows + j] = t.variance[j];
    }
  }
}
