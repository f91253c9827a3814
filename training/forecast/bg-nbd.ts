/**
 * BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): the standard model
 * of how many purchases a customer will make, from only their repeat count x, the time of their
 * last purchase t_x and their age T. While "alive" a customer buys at a Poisson rate λ; after
 * each purchase they drop out with probability p; λ ~ Gamma(r, α) and p ~ Beta(a, b) across
 * customers. Pure TypeScript (no Node APIs) so it can move to `shared/` and run in the Worker.
 */
import { nelderMead } from "./nelder-mead";
import { hyp2f1, lnHyp2f1 } from "./special";

/** One customer as BG/NBD sees them, in a time unit of the caller's choice (weeks here). */
export interface PurchaseSummary {
  /** Repeat purchases: distinct purchase days after the first, up to the end of calibration. */
  x: number;
  /** Time from the first to the last purchase (0 when x = 0). */
  tx: number;
  /** Time from the first purchase to the end of calibration. */
  T: number;
}

export interface BgNbdParams {
  /** Shape and rate of the Gamma distribution of purchase rates λ. */
  r: number;
  alpha: number;
  /** The Beta distribution of the drop-out probability p after each purchase. */
  a: number;
  b: number;
}

/**
 * The BG/NBD summary of a customer's purchase days (integers, e.g. days since 1970 from
 * `isoDay`) as of `end`, counted in units of `unitDays` days (7: weeks). Several purchases on one
 * day count as one, as in Fader & Hardie's CDNOW analyses; days after `end` are ignored. Null
 * when the customer has no purchase on or before `end`.
 *
 * @example
 *   summarizePurchases([0, 0, 7, 21], 28); // { x: 2, tx: 3, T: 4 }
 */
export function summarizePurchases(days: readonly number[], end: number, unitDays = 7): PurchaseSummary | null {
  const seen = new Set<number>();
  let first = Infinity;
  let last = -Infinity;
  for (const d of days) {
    if (d > end) continue;
    seen.add(d);
    if (d < first) first = d;
    if (d > last) last = d;
  }
  if (seen.size === 0) return null;
  return { x: seen.size - 1, tx: (last - first) / unitDays, T: (end - first) / unitDays };
}

/**
 * Per-x terms of the log-likelihood that depend on the parameters and x only:
 * ln Γ(r + x) − ln Γ(r) and ln B(a, b + x) − ln B(a, b), built by recurrence instead of
 * thousands of ln Γ calls per evaluation.
 */
function perCountTerms(p: BgNbdParams, maxX: number): { gammaTerm: Float64Array; betaTerm: Float64Array } {
  const gammaTerm = new Float64Array(maxX + 1);
  const betaTerm = new Float64Array(maxX + 1);
  for (let x = 1; x <= maxX; x++) {
    gammaTerm[x] = gammaTerm[x - 1] + Math.log(p.r + x - 1);
    betaTerm[x] = betaTerm[x - 1] + Math.log((p.b + x - 1) / (p.a + p.b + x - 1));
  }
  return { gammaTerm, betaTerm };
}

/**
 * The BG/NBD log-likelihood of `customers` (FHL 2005, eq. 6), summed. NaN for parameters that
 * are not all positive.
 *
 * @example
 *   bgNbdLogLikelihood({ r: 0.25, alpha: 4.8, a: 0.72, b: 2.2 }, [{ x: 2, tx: 30, T: 38 }]); // a negative number
 */
export function bgNbdLogLikelihood(p: BgNbdParams, customers: readonly PurchaseSummary[]): number {
  if (!(p.r > 0 && p.alpha > 0 && p.a > 0 && p.b > 0)) return NaN;
  let maxX = 0;
  for (const c of customers) if (c.x > maxX) maxX = c.x;
  const { gammaTerm, betaTerm } = perCountTerms(p, maxX);
  const rLnAlpha = p.r * Math.log(p.alpha);
  const lnA = Math.log(p.a);
  let total = 0;
  for (const { x, tx, T } of customers) {
    const alive = -(p.r + x) * Math.log(p.alpha + T);
    let tail = alive;
    if (x > 0) {
      // Dropped out right after the last purchase: log-sum-exp of the two ways to be silent since.
      const gone = lnA - Math.log(p.b + x - 1) - (p.r + x) * Math.log(p.alpha + tx);
      const m = Math.max(alive, gone);
      tail = m + Math.log(Math.exp(alive - m) + Math.exp(gone - m));
    }
    total += gammaTerm[x] + rLnAlpha + betaTerm[x] + tail;
  }
  return total;
}

export interface BgNbdFit {
  params: BgNbdParams;
  logLikelihood: number;
  evaluations: number;
}

/**
 * Fits BG/NBD by maximum likelihood: Nelder–Mead on the log-parameters (so every step stays
 * positive) from r = α = a = b = 1, with restarts; deterministic.
 *
 * @example
 *   const { params } = fitBgNbd(customers); // CDNOW, weeks: { r: 0.252, alpha: 4.789, a: 0.723, b: 2.161 } (rounded)
 */
export function fitBgNbd(customers: readonly PurchaseSummary[]): BgNbdFit {
  if (customers.length === 0) throw new RangeError("fitBgNbd: no customers to fit");
  const unpack = (v: number[]): BgNbdParams => ({ r: Math.exp(v[0]), alpha: Math.exp(v[1]), a: Math.exp(v[2]), b: Math.exp(v[3]) });
  // The mean log-likelihood keeps the tolerance meaningful whatever the number of customers.
  const n = customers.length;
  const result = nelderMead((v) => -bgNbdLogLikelihood(unpack(v), customers) / n, [0, 0, 0, 0], { tolerance: 1e-11, restarts: 3 });
  return { params: unpack(result.x), logLikelihood: -result.value * n, evaluations: result.evaluations };
}

/** a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x): the odds that a silent customer has dropped out. */
function deadOdds(p: BgNbdParams, c: PurchaseSummary): number {
  if (c.x === 0) return 0;
  return (p.a / (p.b + c.x - 1)) * Math.exp((p.r + c.x) * Math.log((p.alpha + c.T) / (p.alpha + c.tx)));
}

/**
 * P(alive at T | x, t_x, T) (FHL 2005, eq. 11 as corrected in their note): 1 for a customer
 * with no repeat purchase, since BG/NBD drop-outs happen only right after a purchase.
 *
 * @example
 *   bgNbdPAlive({ r: 0.252, alpha: 4.789, a: 0.723, b: 2.161 }, { x: 0, tx: 0, T: 30 }); // 1
 */
export function bgNbdPAlive(p: BgNbdParams, c: PurchaseSummary): number {
  return 1 / (1 + deadOdds(p, c));
}

/**
 * E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10), with 2F1 summed in the log domain
 * so heavy buyers neither overflow nor lose digits.
 *
 * @example
 *   bgNbdExpected({ r: 0.252, alpha: 4.789, a: 0.723, b: 2.161 }, { x: 2, tx: 30, T: 38 }, 39); // ≈ 1.26
 */
export function bgNbdExpected(p: BgNbdParams, c: PurchaseSummary, t: number): number {
  if (t <= 0) return 0;
  if (p.a === 1) throw new RangeError("bgNbdExpected: a = 1 is a removable singularity this closed form does not handle");
  const { x, T } = c;
  const z = t / (p.alpha + T + t);
  const product = scaledHyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z, (p.r + x) * Math.log((p.alpha + T) / (p.alpha + T + t)));
  return (((p.a + p.b + x - 1) / (p.a - 1)) * (1 - product)) / (1 + deadOdds(p, c));
}

/**
 * exp(lnScale) · 2F1(A, B; C; z) with A, B > 0 and 0 ≤ z < 1: in the log domain when every term
 * is positive (C > 0, the heavy buyers whose 2F1 overflows), else by the signed series — C =
 * a + b + x − 1 is negative only for x = 0 with a + b < 1, where the terms stay small.
 */
function scaledHyp2f1(A: number, B: number, C: number, z: number, lnScale: number): number {
  return C > 0 ? Math.exp(lnScale + lnHyp2f1(A, B, C, z)) : Math.exp(lnScale) * hyp2f1(A, B, C, z);
}

export interface DistributionOptions {
  /** Stop once the probabilities found add up to at least 1 − this (default 1e-10). */
  tailMass?: number;
  /** Largest count to tabulate (default 5000). */
  maxCount?: number;
}

/**
 * P(Y = y | x, t_x, T) for y = 0, 1, … where Y is the number of purchases in (T, T + t]: the
 * whole forecast distribution, not just its mean. Given alive at T, λ ~ Gamma(r + x, α + T) and
 * p ~ Beta(a, b + x), independently; the customer makes min(N, G) purchases with N ~ Poisson(λt)
 * and G the purchase after which they drop out (geometric in p), so
 * P(y) = NB(y)·B(a, b′ + y)/B(a, b′) + [y ≥ 1]·a/(a + b′ + y − 1)·B(a, b′ + y − 1)/B(a, b′)·P(N ≥ y)
 * with b′ = b + x and NB the negative binomial of N. A customer already gone makes none.
 *
 * @example
 *   const pmf = bgNbdDistribution(params, { x: 0, tx: 0, T: 30 }, 39);
 *   pmf[0]; // P(no purchase in the next 39 weeks)
 */
export function bgNbdDistribution(p: BgNbdParams, c: PurchaseSummary, t: number, options: DistributionOptions = {}): number[] {
  const tailMass = options.tailMass ?? 1e-10;
  const maxCount = options.maxCount ?? 5000;
  const alive = bgNbdPAlive(p, c);
  const rPost = p.r + c.x;
  const bPost = p.b + c.x;
  const q = t / (p.alpha + c.T + t);
  let nb = Math.exp(rPost * Math.log1p(-q)); // P(N = 0)
  let nbCdfBefore = 0; // P(N ≤ y − 1)
  let betaRatio = 1; // B(a, b′ + y)/B(a, b′)
  let previousBetaRatio = NaN;
  const pmf: number[] = [];
  let mass = 0;
  for (let y = 0; y <= maxCount; y++) {
    let py = nb * betaRatio;
    if (y >= 1) py += (p.a / (p.a + bPost + y - 1)) * previousBetaRatio * Math.max(0, 1 - nbCdfBefore);
    py *= alive;
    if (y === 0) py += 1 - alive;
    pmf.push(py);
    mass += py;
    if (mass >= 1 - tailMass) break;
    nbCdfBefore += nb;
    nb *= ((rPost + y) / (y + 1)) * q;
    previousBetaRatio = betaRatio;
    betaRatio *= (bPost + y) / (p.a + bPost + y);
  }
  return pmf;
}

/**
 * E[X(t)] for a customer just acquired (FHL 2005, eq. 7): the expected purchases after the
 * first in their first t time units. Useful to check a fit against a cohort's repeat curve.
 *
 * @example
 *   bgNbdNewCustomerExpected({ r: 0.252, alpha: 4.789, a: 0.723, b: 2.161 }, 39); // ≈ 1.18
 */
export function bgNbdNewCustomerExpected(p: BgNbdParams, t: number): number {
  const z = t / (p.alpha + t);
  const f = scaledHyp2f1(p.r, p.b, p.a + p.b - 1, z, p.r * Math.log(p.alpha / (p.alpha + t)));
  return ((p.a + p.b - 1) / (p.a - 1)) * (1 - f);
}
