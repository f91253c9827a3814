/**
 * One account's trajectory: its health now, the forecast at 30, 60 and 90 days with 90%
 * intervals, the trend, the act-by date and why. The rules are shared/cs/trajectory.ts; this
 * module gathers their inputs (the account's weekly health history, renewal date, tier, the
 * playbook lead time) and picks the forecast's source: the active trajectory model when there is
 * one, else the account's own damped trend (`source: "trend"`).
 */
import {
  actBy,
  type HealthAt,
  type HorizonForecast,
  type LeadDays,
  parseLeadDays,
  redHealth,
  type TrendName,
  trendForecast,
  trendOf,
  withPoint,
} from "../../shared/cs/trajectory";
import type { SignalValue } from "../../shared/db/schema";
import { daysUntil, type TrajectoryModel, trajectoryInputs } from "../../shared/model/trajectory";
import type { RiskTier } from "../../shared/tiers";

export interface TrajectoryFacts {
  /** Today, YYYY-MM-DD: the forecast's origin. */
  today: string;
  health: number;
  riskTier: RiskTier;
  /** The portfolio tier, which picks the lead time (blue has its own). */
  tier: RiskTier | "blue";
  /** The churn model's red threshold (health at or below 100 × (1 − it) is red). */
  redThreshold: number;
  renewalDate: string | null;
  /** The stored weekly history, oldest first (today's point is added here). */
  history: readonly HealthAt[];
}

export interface Trajectory {
  health: number;
  horizons: HorizonForecast[];
  trend: TrendName;
  actBy: string | null;
  reasons: string[];
  source: "model" | "trend";
  history: HealthAt[];
}

/** Lead times from `ACT_BY_LEAD_DAYS`, parsed once per isolate per value. */
let leadCache: { text: string | undefined; days: LeadDays } | null = null;
export function leadDays(env: Pick<Env, "ACT_BY_LEAD_DAYS">): LeadDays {
  const text = env.ACT_BY_LEAD_DAYS;
  if (!leadCache || leadCache.text !== text) leadCache = { text, days: parseLeadDays(text) };
  return leadCache.days;
}

/**
 * The trajectory from its facts. `forecast` is the trajectory model's answer when one is active;
 * without it the own-trend fallback forecasts from the history.
 *
 * @example
 *   trajectoryOf({ today: "2026-12-01", health: 55, riskTier: "yellow", tier: "yellow", redThreshold: 0.7, renewalDate: null, history }, leadDays(env));
 */
export function trajectoryOf(facts: TrajectoryFacts, lead: LeadDays, forecast?: HorizonForecast[] | null): Trajectory {
  const history = withPoint(facts.history, { date: facts.today, health: facts.health });
  const horizons = forecast ?? trendForecast(history, facts.today);
  const when = actBy({
    today: facts.today,
    health: facts.health,
    horizons,
    red: redHealth(facts.redThreshold),
    leadDays: lead[facts.tier],
    renewalDate: facts.renewalDate,
    riskTier: facts.riskTier,
  });
  const trend = trendOf(facts.health, horizons);
  const far = horizons[horizons.length - 1];
  const reasons = [...when.reasons, `trend ${trend}: the 90-day forecast is ${far.health} (90% interval ${far.lower}–${far.upper}) against ${facts.health} today`];
  return { health: facts.health, horizons, trend, actBy: when.actBy, reasons, source: forecast ? "model" : "trend", history };
}

/** An account's signal snapshot as of a day, for the trajectory model's signal changes. */
export interface SnapshotAt {
  date: string;
  signals: Record<string, SignalValue>;
}

/**
 * The trajectory model's forecast for an account: its inputs (health now and its changes, signals
 * and their changes since the snapshots nearest 30 and 90 days back, days to renewal) built by the
 * same `trajectoryInputs` training used.
 */
export function modelForecast(model: TrajectoryModel, facts: TrajectoryFacts, signals: Record<string, SignalValue>, snapshots: readonly SnapshotAt[]): HorizonForecast[] {
  const x = trajectoryInputs(model.signals, {
    asOf: facts.today,
    health: facts.health,
    signals,
    daysToRenewal: facts.renewalDate ? daysUntil(facts.today, facts.renewalDate) : null,
    healthHistory: facts.history,
    signalHistory: snapshots,
  });
  return model.forecast(x) as HorizonForecast[];
}

/** Days of signal snapshots the trajectory model reads back (90, with the ±3-day tolerance and some slack). */
export const SNAPSHOT_LOOKBACK_DAYS = 100;
