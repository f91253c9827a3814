/**
 * Health and its trajectory, as policy: the one mapping from churn probability to health, the
 * damped-trend forecast used when no trajectory model is active, the rule that names a trend, and
 * the act-by date. Pure, so the Worker (rescoring, `GET /v1/accounts/{id}/trajectory`) and the
 * offline backtest apply exactly the same rules.
 */
import { z } from "zod";
import { addDays, daysBetween } from "../days";
import { type HealthPoint, TRAJECTORY_HORIZONS } from "../model/trajectory";
import type { RiskTier } from "../tiers";

/** Days ahead the trajectory forecasts. */
export const HORIZONS = TRAJECTORY_HORIZONS;
export type HorizonDays = (typeof HORIZONS)[number];

/** One forecast point: health `days` ahead with its 90% interval. */
export interface HorizonForecast {
  days: HorizonDays;
  health: number;
  lower: number;
  upper: number;
}

/** Where a trajectory is heading; `trendOf` states the rule. */
export const TRENDS = ["improving", "stable", "declining"] as const;
export type TrendName = (typeof TRENDS)[number];

/** A day's health; histories are oldest first (the `accounts.health_history` column holds these). */
export const HealthAt = z.object({ date: z.string().describe("YYYY-MM-DD"), health: z.number().int() }) satisfies z.ZodType<HealthPoint>;
export type HealthAt = HealthPoint;


/**
 * Health (0–100, 100 healthiest) from a calibrated churn probability: round(100 × (1 − p)).
 *
 * @example
 *   healthOf(0.71); // 29
 */
export function healthOf(churnProbability: number): number {
  return Math.round(100 * (1 - churnProbability));
}

/** The highest health that is still red under a model's red threshold (p ≥ 0.70 ⇒ health ≤ 30). */
export function redHealth(redThreshold: number): number {
  return Math.round(100 * (1 - redThreshold));
}

const clamp = (h: number) => Math.min(100, Math.max(0, h));
const round1 = (v: number) => Math.round(v * 10) / 10;

/** Per-day damping of the own-trend forecast: a trend fades rather than running on for 90 days. */
export const TREND_DAMPING = 0.98;
/** The own-trend forecast's spread per 30 days at the least (health points): wide on purpose. */
const MIN_TREND_SPREAD = 3;
const Z90 = 1.645;

/**
 * The fallback forecast (`source: "trend"`) when no trajectory model is active: the least-squares
 * slope of the last 90 days of health, shrunk by its own uncertainty (slope² / (slope² + SE²);
 * halved from two points), damped by TREND_DAMPING per day, with a 90% interval of
 * ±1.645 × max(3, residual spread) × √(days / 30) health points.
 *
 * @example
 *   trendForecast([{ date: "2026-09-01", health: 80 }, { date: "2026-10-01", health: 70 }, { date: "2026-11-30", health: 50 }], "2026-11-30");
 */
export function trendForecast(history: readonly HealthAt[], today: string): HorizonForecast[] {
  const recent = history.filter((p) => daysBetween(p.date, today) <= 90 && daysBetween(p.date, today) >= 0);
  const now = recent.length ? recent[recent.length - 1].health : (history[history.length - 1]?.health ?? 50);
  let slope = 0;
  let spread = MIN_TREND_SPREAD;
  if (recent.length >= 2) {
    const xs = recent.map((p) => -daysBetween(p.date, today));
    const ys = recent.map((p) => p.health);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    slope = sxx > 0 ? xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx : 0;
    const resid = ys.map((y, i) => y - (my + slope * (xs[i] - mx)));
    const sd = recent.length > 2 ? Math.sqrt(resid.reduce((a, r) => a + r * r, 0) / (recent.length - 2)) : 0;
    spread = Math.max(MIN_TREND_SPREAD, sd);
    // A slope no surer than its own noise is not extrapolated in full: shrink it by
    // slope² / (slope² + its squared standard error), halving it when two points are all there is.
    const se2 = recent.length > 2 && sxx > 0 ? (sd * sd) / sxx : Number.NaN;
    slope *= Number.isNaN(se2) ? 0.5 : slope * slope + se2 > 0 ? (slope * slope) / (slope * slope + se2) : 0;
  }
  return HORIZONS.map((days) => {
    const change = (slope * TREND_DAMPING * (1 - TREND_DAMPING ** days)) / (1 - TREND_DAMPING);
    const half = Z90 * spread * Math.sqrt(days / 30);
    const health = clamp(now + change);
    return { days, health: round1(health), lower: round1(clamp(now + change - half)), upper: round1(clamp(now + change + half)) };
  });
}

/**
 * The trend, read from the interval rather than the sign: declining when the 90-day forecast's
 * upper bound is below today's health, improving when its lower bound is above it, else stable.
 */
export function trendOf(health: number, horizons: readonly HorizonForecast[]): TrendName {
  const far = horizons.find((h) => h.days === 90) ?? horizons[horizons.length - 1];
  if (!far) return "stable";
  if (far.upper < health) return "declining";
  if (far.lower > health) return "improving";
  return "stable";
}

/** Days ahead at which the point forecast first reaches `red` (linear between horizons), or null within 90 days. */
export function daysToRed(health: number, horizons: readonly HorizonForecast[], red: number): number | null {
  if (health <= red) return 0;
  let prevDay = 0;
  let prev = health;
  for (const h of horizons) {
    if (h.health <= red) return Math.max(1, Math.ceil(prevDay + ((prev - red) / (prev - h.health)) * (h.days - prevDay)));
    prevDay = h.days;
    prev = h.health;
  }
  return null;
}

/** Playbook lead time in days by tier (issue 11's playbooks set these; 14 by default). */
export type LeadDays = Record<RiskTier | "blue", number>;
export const DEFAULT_LEAD_DAYS: LeadDays = { red: 14, yellow: 14, green: 14, blue: 14 };

/**
 * Parses `ACT_BY_LEAD_DAYS`: one number for every tier ("14") or per tier ("red=7,yellow=14").
 * Unknown tiers or non-numbers throw, naming the part.
 */
export function parseLeadDays(text: string | undefined): LeadDays {
  const out = { ...DEFAULT_LEAD_DAYS };
  if (!text || !text.trim()) return out;
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [tier, value] = part.includes("=") ? part.split("=") : [null, part];
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 365) throw new Error(`ACT_BY_LEAD_DAYS: '${part}' is not a whole number of days from 0 to 365`);
    if (tier === null) for (const t of Object.keys(out) as (keyof LeadDays)[]) out[t] = n;
    else if (tier in out) out[tier as keyof LeadDays] = n;
    else throw new Error(`ACT_BY_LEAD_DAYS: '${tier}' is not a tier (red, yellow, green, blue)`);
  }
  return out;
}

export interface ActBy {
  /** The latest day to act (YYYY-MM-DD), or null when nothing is due within the forecast or before a renewal. */
  actBy: string | null;
  /** What set the date, first; then anything else that bears on it, in words. */
  reasons: string[];
}

/**
 * The act-by date: the latest day that still leaves `leadDays` before the forecast health crosses
 * into red, never later than the renewal date minus the lead time, and today when the account is
 * already red (or either date has passed).
 *
 * @example
 *   actBy({ today: "2026-12-01", health: 55, horizons, red: 30, leadDays: 14, renewalDate: "2027-02-01" });
 */
export function actBy(a: { today: string; health: number; horizons: readonly HorizonForecast[]; red: number; leadDays: number; renewalDate?: string | null; riskTier?: RiskTier }): ActBy {
  if (a.health <= a.red || a.riskTier === "red") return { actBy: a.today, reasons: [`already red (health ${a.health}): act now`] };
  const candidates: { date: string; reason: string }[] = [];
  const toRed = daysToRed(a.health, a.horizons, a.red);
  if (toRed !== null) {
    const date = addDays(a.today, Math.max(0, toRed - a.leadDays));
    candidates.push({ date, reason: `health forecast to reach red in about ${toRed} days, leaving ${a.leadDays} days of lead time` });
  }
  if (a.renewalDate) {
    const renewal = a.renewalDate.slice(0, 10);
    const date = addDays(renewal, -a.leadDays) < a.today ? a.today : addDays(renewal, -a.leadDays);
    candidates.push({ date, reason: daysBetween(a.today, renewal) < 0 ? `renewal date ${renewal} has passed` : `renewal on ${renewal} leaves ${a.leadDays} days of lead time` });
  }
  if (candidates.length === 0) return { actBy: null, reasons: ["no red crossing forecast within 90 days and no renewal date"] };
  candidates.sort((x, y) => x.date.localeCompare(y.date));
  return { actBy: candidates[0].date, reasons: candidates.map((c) => c.reason) };
}

/** Weeks of health kept on an account for its trajectory (26: half a year). */
export const HISTORY_WEEKS = 26;

/** Monday of the week (UTC) of a day. */
function weekOf(day: string): string {
  const d = new Date(Date.parse(day.slice(0, 10)));
  return addDays(day, -((d.getUTCDay() + 6) % 7));
}

/**
 * The history with today's point: the latest score of each week is kept, so a week's point is
 * replaced by a newer one in the same week; at most HISTORY_WEEKS points, newest last.
 */
export function withPoint(history: readonly HealthAt[], point: HealthAt): HealthAt[] {
  const week = weekOf(point.date);
  const kept = history.filter((p) => weekOf(p.date) !== week && p.date < point.date);
  return [...kept, { date: point.date.slice(0, 10), health: point.health }].slice(-HISTORY_WEEKS);
}
