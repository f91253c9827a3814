/**
 * The revenue forecast's combination over accounts: per window, churned ARR, expansion ARR,
 * renewals due and the retention rates, each as an expected value with 80% and 90% intervals.
 * Pure TypeScript over typed arrays; `hazards.ts` gives the per-account probabilities.
 *
 * Accounts are not independent: a portfolio-wide shock moves every account's log-odds together,
 * one draw of z ~ N(0, σ²) for churn and another for expansion, shared by all windows of a draw.
 * Each probability is first shifted so that the shock leaves its mean unchanged (E_z[sigmoid(l* + z)]
 * equals the account's probability), so σ widens the intervals without moving the expectation.
 *
 * - `expected`: exact under that model, by quadrature over the shock (49 points, ±6 sd).
 * - Intervals: Monte Carlo. The `exactAccounts` largest accounts by ARR are drawn one by one;
 *   the rest, conditional on the shock, add a normal with their exact conditional mean and
 *   variance (Lyapunov: many small independent accounts), read off the same grid. A portfolio
 *   of at most `exactAccounts` accounts is therefore plain Monte Carlo.
 * - Draws use a seeded generator and always consume the same numbers, so the same input and seed
 *   give the same figures, and a scenario run with the baseline's seed is paired with it draw by
 *   draw (common random numbers): its difference has an interval of its own.
 */
import { sigmoid } from "../../shared/model/sigmoid";
import type { Hazards } from "./hazards";
import { churnMoments, expansionMoments, lookup, matchedLogits } from "./shock";

export interface Shock {
  /** Standard deviation of the portfolio-wide log-odds shift of churn. */
  churn: number;
  /** The same for expansion (drawn independently). */
  expansion: number;
}

/**
 * σ when no calibration is stored. On the SaaS demo's history the backtest finds 0.3 for
 * expansion and 0 for churn; churn's 0 is not used because that churn model was fitted on the
 * very history it is judged on (README "Revenue forecast"), so churn takes expansion's 0.3.
 */
export const DEFAULT_SHOCK: Shock = { churn: 0.3, expansion: 0.3 };

export interface SimulateOptions {
  draws: number;
  seed: number;
  shock: Shock;
  /** The largest accounts by ARR drawn one by one; the others by their conditional normal. */
  exactAccounts: number;
}

/** An expected value with its central 80% and 90% intervals. */
export interface Figure {
  expected: number;
  p80: [number, number];
  p90: [number, number];
}

export const FIGURES = ["churnedArr", "expansionArr", "renewalsDueCount", "renewalsDueArr", "grr", "nrr"] as const;
export type FigureName = (typeof FIGURES)[number];

export interface Simulation {
  /** Per window: the expected value of each figure. */
  expected: Record<FigureName, number>[];
  /** Per window: every draw of each figure (what intervals and paired differences read). */
  draws: Record<FigureName, Float64Array>[];
  /** Per account and window (row-major): expected churned ARR and expansion ARR. */
  contributions: { churn: Float64Array; expansion: Float64Array };
  /** Accounts drawn one by one (the rest by the normal approximation). */
  exactAccounts: number;
}

/** xoshiro128** seeded through splitmix32: uniform draws in [0, 1), reproducible from a 32-bit seed. */
export function seededUniform(seed: number): () => number {
  let x = seed >>> 0;
  const split = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [split(), split(), split(), split()];
  return () => {
    const result = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)) >>> 0, 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 11) | (s[3] >>> 21)) >>> 0;
    return result / 4294967296;
  };
}

/** A standard normal draw (Box–Muller, two uniforms every time so streams stay aligned). */
function normal(uniform: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The value at quantile q of sorted draws (linear between order statistics). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** The expected value with the central 80% and 90% intervals of the draws. */
export function figureOf(expected: number, draws: Float64Array): Figure {
  const sorted = Float64Array.from(draws).sort();
  return { expected, p80: [quantile(sorted, 0.1), quantile(sorted, 0.9)], p90: [quantile(sorted, 0.05), quantile(sorted, 0.95)] };
}

/**
 * Combines the accounts' probabilities into the forecast's figures.
 *
 * @example
 *   const sim = simulate(accountHazards(accounts, windows, ctx, false), { draws: 2000, seed: 1, shock: { churn: 0.3, expansion: 0.3 }, exactAccounts: 500 });
 *   figureOf(sim.expected[0].churnedArr, sim.draws[0].churnedArr);
 */
export function simulate(h: Hazards, o: SimulateOptions): Simulation {
  const { accounts: n, windows: w } = h;
  const sc = o.shock.churn;
  const se = o.shock.expansion;
  const lc = matchedLogits(h.churn, sc);
  const le = matchedLogits(h.expand, se);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => h.arr[b] - h.arr[a] || a - b);
  const exactCount = Math.min(n, Math.max(0, o.exactAccounts));
  const exact = order.slice(0, exactCount);
  const isExact = new Uint8Array(n);
  for (const i of exact) isExact[i] = 1;

  const churnPass = churnMoments(h, lc, sc, isExact);
  const { survival, contribChurn } = churnPass;
  const { churned, dueCount, dueArr } = churnPass.tables;
  // Expansion needs the account active at the window's start: E[survival] × its (mean-matched) probability.
  const contribExpansion = new Float64Array(n * w);
  for (let x = 0; x < n * w; x++) contribExpansion[x] = h.size[Math.floor(x / w)] * survival[x] * h.expand[x];
  const expanded = expansionMoments(h, le, se, survival, isExact);

  let total = 0;
  for (let i = 0; i < n; i++) total += h.arr[i];
  const expected: Record<FigureName, number>[] = [];
  let start = total;
  for (let j = 0; j < w; j++) {
    const e = { churnedArr: 0, expansionArr: 0, renewalsDueCount: 0, renewalsDueArr: 0, grr: 1, nrr: 1 };
    for (let i = 0; i < n; i++) {
      const x = i * w + j;
      e.churnedArr += contribChurn[x];
      e.expansionArr += contribExpansion[x];
      if (h.due[x]) {
        e.renewalsDueCount += survival[x];
        e.renewalsDueArr += h.arr[i] * survival[x];
      }
    }
    e.grr = start > 0 ? 1 - e.churnedArr / start : 1;
    e.nrr = start > 0 ? 1 + (e.expansionArr - e.churnedArr) / start : 1;
    expected.push(e);
    start += e.expansionArr - e.churnedArr;
  }

  const draws = Array.from({ length: w }, () => Object.fromEntries(FIGURES.map((f) => [f, new Float64Array(o.draws)])) as Record<FigureName, Float64Array>);
  const uniform = seededUniform(o.seed);
  const c = new Float64Array(w);
  const ex = new Float64Array(w);
  const dn = new Float64Array(w);
  const da = new Float64Array(w);
  for (let d = 0; d < o.draws; d++) {
    const uc = normal(uniform);
    const ue = normal(uniform);
    for (let j = 0; j < w; j++) {
      const rest = [lookup(churned, uc, j, w), lookup(expanded, ue, j, w), lookup(dueCount, uc, j, w), lookup(dueArr, uc, j, w)];
      const eps = [normal(uniform), normal(uniform), normal(uniform), normal(uniform)];
      c[j] = Math.max(0, rest[0].mean + rest[0].sd * eps[0]);
      ex[j] = Math.max(0, rest[1].mean + rest[1].sd * eps[1]);
      dn[j] = Math.max(0, rest[2].mean + rest[2].sd * eps[2]);
      da[j] = Math.max(0, rest[3].mean + rest[3].sd * eps[3]);
    }
    const zc = sc * uc;
    const ze = se * ue;
    for (const i of exact) {
      let alive = true;
      for (let j = 0; j < w; j++) {
        const x = i * w + j;
        const uChurn = uniform();
        const uExpand = uniform();
        if (!alive) continue;
        if (h.due[x]) {
          dn[j] += 1;
          da[j] += h.arr[i];
        }
        if (uExpand < sigmoid(le[x] + ze)) ex[j] += h.size[i];
        if (uChurn < sigmoid(lc[x] + zc)) {
          c[j] += h.arr[i];
          alive = false;
        }
      }
    }
    let arr = total;
    for (let j = 0; j < w; j++) {
      const f = draws[j];
      f.churnedArr[d] = c[j];
      f.expansionArr[d] = ex[j];
      f.renewalsDueCount[d] = dn[j];
      f.renewalsDueArr[d] = da[j];
      f.grr[d] = arr > 0 ? 1 - c[j] / arr : 1;
      f.nrr[d] = arr > 0 ? 1 + (ex[j] - c[j]) / arr : 1;
      arr += ex[j] - c[j];
    }
  }
  return { expected, draws, contributions: { churn: contribChurn, expansion: contribExpansion }, exactAccounts: exactCount };
}
