/**
 * The revenue forecast's per-account probabilities, as policy: for each account and forecast
 * window, the chance it churns in the window (renewal-aware) and the chance it expands, from its
 * current score. Pure, so `GET /v1/forecast` and the offline backtest
 * (`training/backtest/forecast.ts`) apply exactly the same rules; `simulate.ts` combines them.
 *
 * The rules (README "Revenue forecast" states them for users):
 * - A score's churn probability p covers the model's horizon H days from the day it was made.
 *   Contracts renew every TERM_DAYS from the account's renewal date.
 * - A renewal inside the score's horizon churns with p (less the small mid-term part of it).
 * - A renewal the score does not reach churns with the trajectory's forecast when a trajectory
 *   model is active and its 90-day health reaches it (p = 1 − health/100), else with the larger
 *   of p and the portfolio's renewal churn rate: the ARR-weighted mean of p over the accounts
 *   whose renewal the score does reach (what the model sees at renewals now).
 * - Between renewals an account churns only mid-term: at its own hazard −ln(1 − p) / H when its
 *   score's horizon holds no renewal (what the model sees mid-term), else at the portfolio's mean
 *   of that hazard. An account without a renewal date churns at its own hazard throughout.
 * - Expansion: a trained expansion model's probability over its horizon, scaled to the window;
 *   the cold-start scorecard's readiness (not a probability) is scaled so the portfolio's
 *   expected expansion ARR per year matches the last 12 months' (as a share of ARR). Each
 *   expansion adds `expansionShare` × ARR: the median expansion ÷ ARR before it in the outcomes.
 */
import { addDays, daysBetween } from "../../shared/days";
import type { PortfolioTier } from "../../shared/tiers";

/** Contracts renew every this many days from the renewal date (annual terms, as the SaaS demo's). */
export const TERM_DAYS = 365;
/** Fewer accounts than this make a portfolio rate (renewal churn, mid-term hazard) too noisy to use. */
export const MIN_RATE_ACCOUNTS = 20;
/** An expansion's size as a share of ARR when the outcomes hold fewer than MIN_RATE_ACCOUNTS expansions. */
export const DEFAULT_EXPANSION_SHARE = 0.2;

/** One account as the forecast sees it: its ARR and its current score. */
export interface ForecastAccount {
  id: string;
  arr: number;
  /** The current score's calibrated churn probability over the churn model's horizon. */
  churnProbability: number;
  /** The day the score was made (YYYY-MM-DD). */
  scoredAt: string;
  /** The next renewal on or after the forecast's first day, or null when unknown. */
  renewalDate: string | null;
  expansionProbability: number | null;
  /** `model` (a trained expansion model) or `scorecard` (cold-start readiness), as the score says. */
  expansionSource: string | null;
  tier: PortfolioTier | null;
  /** The score's 90-day health forecast when a trajectory model made it, else null. */
  health90: number | null;
}

/** A forecast window, both days included (YYYY-MM-DD). */
export interface Window {
  start: string;
  end: string;
}

/** What the rules need beyond the accounts: the models' horizons and what history says. */
export interface HazardContext {
  horizonDays: number;
  expansionHorizonDays: number;
  /** Expansion ARR per year ÷ ARR over the last 12 months of outcomes, or null without that history. */
  observedExpansionArrRate: number | null;
  /** Median expansion ÷ ARR before it over the last 12 months, or null with too few expansions. */
  observedExpansionShare: number | null;
}

/** The portfolio-wide rates the rules derived, as the response's `method` reports them. */
export interface PortfolioRates {
  /** Per year; null when fewer than MIN_RATE_ACCOUNTS accounts had no renewal in their score's horizon. */
  midTermHazard: number | null;
  /** Null when fewer than MIN_RATE_ACCOUNTS accounts had one (each account's own p is then carried). */
  renewalChurnRate: number | null;
  /** Expansions per year per unit of scorecard readiness; null without history or scorecard scores. */
  readinessScale: number | null;
  expansionShare: number;
  expansionShareSource: "outcomes" | "default";
}

/** Per account (row) and window (column), flattened row-major: what `simulate` combines. */
export interface Hazards {
  accounts: number;
  windows: number;
  arr: Float64Array;
  /** ARR an expansion adds. */
  size: Float64Array;
  /** P(churn in the window | active at its start). */
  churn: Float64Array;
  /** P(expand in the window | active at its start). */
  expand: Float64Array;
  /** 1 when a renewal falls in the window. */
  due: Uint8Array;
  rates: PortfolioRates;
}

/**
 * The calendar quarters ahead: the current one from `today`, then whole quarters.
 *
 * @example
 *   quarterWindows("2026-12-02", 2); // [{start: "2026-12-02", end: "2026-12-31"}, {start: "2027-01-01", end: "2027-03-31"}]
 */
export function quarterWindows(today: string, quarters: number): Window[] {
  const out: Window[] = [];
  let year = Number(today.slice(0, 4));
  let q = Math.floor((Number(today.slice(5, 7)) - 1) / 3);
  let start = today;
  for (let i = 0; i < quarters; i++) {
    const nextYear = q === 3 ? year + 1 : year;
    const next = `${nextYear}-${String(((q + 1) % 4) * 3 + 1).padStart(2, "0")}-01`;
    out.push({ start, end: addDays(next, -1) });
    start = next;
    year = nextYear;
    q = (q + 1) % 4;
  }
  return out;
}

/**
 * The first renewal on or after `from` on the stored date's schedule (every TERM_DAYS, either
 * way: a past day's renewal is the stored one less whole terms).
 *
 * @example
 *   nextRenewal("2027-09-23", "2026-06-24"); // "2026-09-23"
 */
export function nextRenewal(renewalDate: string | null, from: string): string | null {
  if (!renewalDate) return null;
  const behind = daysBetween(renewalDate, from);
  return addDays(renewalDate, Math.ceil(behind / TERM_DAYS) * TERM_DAYS);
}

const hazardOf = (p: number, days: number) => -Math.log(1 - Math.min(p, 0.999999)) / days;
const horizonEnd = (a: ForecastAccount, h: number) => addDays(a.scoredAt, h);
const reachesRenewal = (a: ForecastAccount, h: number) => a.renewalDate !== null && a.renewalDate <= horizonEnd(a, h);

/** The portfolio rates the rules use, from the accounts' scores and the context's history. */
export function portfolioRates(accounts: readonly ForecastAccount[], ctx: HazardContext): PortfolioRates {
  const H = ctx.horizonDays;
  let farHazard = 0;
  let far = 0;
  for (const a of accounts) {
    if (a.renewalDate !== null && !reachesRenewal(a, H)) {
      farHazard += hazardOf(a.churnProbability, H);
      far++;
    }
  }
  const midTerm = far >= MIN_RATE_ACCOUNTS ? farHazard / far : null;
  let weighted = 0;
  let arr = 0;
  let near = 0;
  for (const a of accounts) {
    if (!reachesRenewal(a, H)) continue;
    weighted += a.arr * atRenewal(a.churnProbability, midTerm ?? 0, H);
    arr += a.arr;
    near++;
  }
  const expansionShare = ctx.observedExpansionShare ?? DEFAULT_EXPANSION_SHARE;
  let readinessScale: number | null = null;
  if (ctx.observedExpansionArrRate !== null) {
    // Scaled so that Σ scale × readiness × size matches the observed expansion ARR a year; what a
    // trained model already predicts is taken off first, not scaled again.
    let readinessArr = 0;
    let modelled = 0;
    let total = 0;
    for (const a of accounts) {
      total += a.arr;
      if (a.expansionProbability === null) continue;
      if (a.expansionSource === "model") modelled += (1 - (1 - a.expansionProbability) ** (TERM_DAYS / ctx.expansionHorizonDays)) * expansionShare * a.arr;
      else readinessArr += a.expansionProbability * expansionShare * a.arr;
    }
    if (readinessArr > 0) readinessScale = Math.max(0, ctx.observedExpansionArrRate * total - modelled) / readinessArr;
  }
  return {
    midTermHazard: midTerm === null ? null : midTerm * TERM_DAYS,
    renewalChurnRate: near >= MIN_RATE_ACCOUNTS && arr > 0 ? weighted / arr : null,
    readinessScale,
    expansionShare,
    expansionShareSource: ctx.observedExpansionShare === null ? "default" : "outcomes",
  };
}

/** A renewal-inside-the-horizon probability p, less its mid-term part: 1 − (1 − p)·e^{λH}. */
function atRenewal(p: number, midTermPerDay: number, h: number): number {
  return Math.max(0, 1 - (1 - p) * Math.exp(midTermPerDay * h));
}

/**
 * Every account's churn and expansion probability in every window, by the rules above.
 *
 * @example
 *   const h = accountHazards(accounts, quarterWindows("2026-12-02", 4), { horizonDays: 90, expansionHorizonDays: 90, observedExpansionArrRate: null, observedExpansionShare: null }, false);
 *   h.churn[0]; // the first account's churn probability in the current quarter
 */
export function accountHazards(
  accounts: readonly ForecastAccount[],
  windows: readonly Window[],
  ctx: HazardContext,
  trajectoryActive: boolean,
  rates: PortfolioRates = portfolioRates(accounts, ctx),
): Hazards {
  const n = accounts.length;
  const w = windows.length;
  const H = ctx.horizonDays;
  const midTermPerDay = (rates.midTermHazard ?? 0) / TERM_DAYS;
  const out: Hazards = {
    accounts: n,
    windows: w,
    arr: new Float64Array(n),
    size: new Float64Array(n),
    churn: new Float64Array(n * w),
    expand: new Float64Array(n * w),
    due: new Uint8Array(n * w),
    rates,
  };
  accounts.forEach((a, i) => {
    out.arr[i] = a.arr;
    out.size[i] = rates.expansionShare * a.arr;
    const p = a.churnProbability;
    const horizon = horizonEnd(a, H);
    const near = reachesRenewal(a, H);
    const ownHazard = a.renewalDate === null || !near ? hazardOf(p, H) : midTermPerDay;
    const trajectory = trajectoryActive && a.health90 !== null ? Math.min(1, Math.max(0, 1 - a.health90 / 100)) : null;
    const trajectoryEnd = addDays(a.scoredAt, 90 + H);
    windows.forEach((win, j) => {
      const days = daysBetween(win.start, win.end) + 1;
      let stay = Math.exp(-ownHazard * days);
      if (a.renewalDate !== null) {
        for (let r = nextRenewal(a.renewalDate, win.start)!; r <= win.end; r = addDays(r, TERM_DAYS)) {
          out.due[i * w + j] = 1;
          const pr =
            r <= horizon ? atRenewal(p, midTermPerDay, H) : trajectory !== null && r <= trajectoryEnd ? trajectory : Math.max(p, rates.renewalChurnRate ?? p);
          stay *= 1 - pr;
        }
      }
      out.churn[i * w + j] = 1 - stay;
      out.expand[i * w + j] = expansionIn(a, days, ctx, rates);
    });
  });
  return out;
}

function expansionIn(a: ForecastAccount, days: number, ctx: HazardContext, rates: PortfolioRates): number {
  const e = a.expansionProbability;
  if (e === null || e <= 0) return 0;
  if (a.expansionSource === "model") return 1 - (1 - Math.min(e, 1)) ** (days / ctx.expansionHorizonDays);
  // Readiness is no probability: scaled to the observed yearly rate, or without history read as a 12-month chance.
  if (rates.readinessScale !== null) return 1 - Math.exp((-rates.readinessScale * e * days) / TERM_DAYS);
  return 1 - (1 - Math.min(e, 1)) ** (days / TERM_DAYS);
}

/** The rows of `indices` (a sub-portfolio, e.g. one owner's accounts), with the portfolio's rates. */
export function subsetHazards(h: Hazards, indices: readonly number[]): Hazards {
  const w = h.windows;
  const out: Hazards = {
    accounts: indices.length,
    windows: w,
    arr: new Float64Array(indices.length),
    size: new Float64Array(indices.length),
    churn: new Float64Array(indices.length * w),
    expand: new Float64Array(indices.length * w),
    due: new Uint8Array(indices.length * w),
    rates: h.rates,
  };
  indices.forEach((i, r) => {
    out.arr[r] = h.arr[i];
    out.size[r] = h.size[i];
    out.churn.set(h.churn.subarray(i * w, (i + 1) * w), r * w);
    out.expand.set(h.expand.subarray(i * w, (i + 1) * w), r * w);
    out.due.set(h.due.subarray(i * w, (i + 1) * w), r * w);
  });
  return out;
}
