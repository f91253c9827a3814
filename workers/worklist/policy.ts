/**
 * How the weekly worklist ranks a CSM's accounts: by the ARR a timely intervention could save,
 * churn probability × ARR × urgency, where urgency says how soon the account's `actBy` is.
 *
 * Urgency is 1 when actBy falls within the coming week (or has passed), 7 / days when it is
 * further out (an act-by date four weeks away weighs a quarter), and 7 / 90 when nothing is due
 * (no trajectory turns red within its horizon). The same rule is written once as SQL, so D1 sorts
 * and limits the candidates, and once here, so it can be read and tested.
 */
import { daysBetween } from "../../shared/days";

/** The days of one worklist week. */
export const WEEK_DAYS = 7;
/** The horizon beyond which nothing is due: an account without actBy weighs WEEK_DAYS / this. */
export const NOTHING_DUE_DAYS = 90;

/** How soon actBy is, from 1 (this week or overdue) down to WEEK_DAYS / NOTHING_DUE_DAYS. */
export function urgency(actBy: string | null, today: string): number {
  if (actBy === null) return WEEK_DAYS / NOTHING_DUE_DAYS;
  const days = daysBetween(today, actBy);
  return days <= WEEK_DAYS ? 1 : WEEK_DAYS / days;
}

/**
 * Expected ARR saved by working the account this week.
 *
 * @example
 *   expectedArrSaved(0.6, 50_000, "2026-12-03", "2026-12-01"); // 30000
 *   expectedArrSaved(0.6, 50_000, "2026-12-29", "2026-12-01"); // 7500 (actBy 28 days away)
 */
export function expectedArrSaved(churnProbability: number, arr: number | null, actBy: string | null, today: string): number {
  return churnProbability * (arr ?? 0) * urgency(actBy, today);
}

/** `expectedArrSaved` as a SQL expression over `accounts a`, with today bound at `todayParam`. */
export function expectedArrSavedSql(todayParam: string): string {
  const days = `(julianday(a.act_by) - julianday(${todayParam}))`;
  return `(coalesce(a.arr, 0) * coalesce(a.churn_probability, 0) * (CASE WHEN a.act_by IS NULL THEN ${WEEK_DAYS}.0 / ${NOTHING_DUE_DAYS} WHEN ${days} <= ${WEEK_DAYS} THEN 1.0 ELSE ${WEEK_DAYS}.0 / ${days} END))`;
}
