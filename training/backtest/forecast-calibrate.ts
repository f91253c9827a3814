/**
 * Calibrating the forecast's shared shock on history: for each candidate σ, the log-likelihood of
 * what actually happened in each backtest window under the forecast's own model (the normal
 * approximation conditional on the shock, mixed over the shock), and the σ that maximises it,
 * over all windows or leaving out those that overlap the window being judged. Pure.
 */
import type { Hazards } from "../../workers/forecast/hazards";
import { churnMoments, expansionMoments, matchedLogits, mixtureDensity } from "../../workers/forecast/shock";

/** The σ values tried: 0 (independent accounts) to 1.5 log-odds. */
export const SIGMAS = Array.from({ length: 31 }, (_, k) => Math.round(k * 5) / 100);

/** One judged window of one (sub-)portfolio: its probabilities and what happened. */
export interface Unit {
  hazards: Hazards;
  /** Which of the hazards' windows is judged. */
  window: number;
  start: string;
  end: string;
  churnedArr: number;
  expansionArr: number;
}

/** Log-likelihood per candidate σ, of churned ARR and of expansion ARR. */
export interface UnitLikelihood {
  churn: number[];
  expansion: number[];
}

/** Natural log of a density, floored so one surprise cannot take a σ out of the running entirely. */
const logOf = (f: number) => Math.log(Math.max(f, 1e-300));

/**
 * The log-likelihood of a unit's actuals at every σ in `sigmas`.
 *
 * @example
 *   const ll = unitLikelihood(unit); // ll.churn[k]: at SIGMAS[k]
 */
export function unitLikelihood(u: Unit, sigmas: readonly number[] = SIGMAS): UnitLikelihood {
  const skip = new Uint8Array(u.hazards.accounts);
  const w = u.hazards.windows;
  const survival = churnMoments(u.hazards, matchedLogits(u.hazards.churn, 0), 0, skip).survival;
  return {
    churn: sigmas.map((s) => logOf(mixtureDensity(churnMoments(u.hazards, matchedLogits(u.hazards.churn, s), s, skip).tables.churned, u.window, w, u.churnedArr))),
    expansion: sigmas.map((s) => logOf(mixtureDensity(expansionMoments(u.hazards, matchedLogits(u.hazards.expand, s), s, survival, skip), u.window, w, u.expansionArr))),
  };
}

/** The σ with the largest summed log-likelihood over `units` (the smallest on ties); 0 with no units. */
export function bestSigma(likelihoods: readonly number[][], sigmas: readonly number[] = SIGMAS): number {
  if (likelihoods.length === 0) return 0;
  let best = 0;
  let bestLl = -Infinity;
  sigmas.forEach((s, k) => {
    const ll = likelihoods.reduce((a, l) => a + l[k], 0);
    if (ll > bestLl + 1e-9) {
      bestLl = ll;
      best = s;
    }
  });
  return best;
}

/** Whether two windows share a day. */
export const overlaps = (a: { start: string; end: string }, b: { start: string; end: string }) => a.start <= b.end && b.start <= a.end;
