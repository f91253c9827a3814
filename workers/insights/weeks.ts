/**
 * ISO weeks (Monday to Sunday, UTC) as the digest labels them: `2026-W49`. Pure: the label of a
 * day, the days of a label (null when the label is no real week), and the week that just ended.
 */
import { addDays } from "../../shared/days";

/** What a week label looks like: four digits of ISO year, `-W`, two digits of week. */
export const WEEK_PATTERN = /^\d{4}-W\d{2}$/;

/** The days of an ISO week: `start` (its Monday) and `end` (its Sunday), both YYYY-MM-DD. */
export interface WeekRange {
  week: string;
  start: string;
  end: string;
  /** The Monday after: the week is every time before it from `start` on. */
  next: string;
}

/** Monday = 0 ... Sunday = 6. */
function weekday(day: string): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

/** The Monday of the ISO week that holds `day`. */
export function mondayOf(day: string): string {
  return addDays(day, -weekday(day));
}

/**
 * The ISO week label of a day: its week belongs to the year of its Thursday.
 *
 * @example
 *   isoWeekOf("2026-12-03"); // "2026-W49"
 *   isoWeekOf("2027-01-01"); // "2026-W53" (a Friday: its Thursday is in 2026)
 */
export function isoWeekOf(day: string): string {
  const thursday = addDays(mondayOf(day), 3);
  const year = thursday.slice(0, 4);
  const firstMonday = mondayOf(`${year}-01-04`);
  const n = Math.round((Date.parse(thursday) - Date.parse(firstMonday)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(n).padStart(2, "0")}`;
}

/**
 * The days of a week label, or null when it is malformed or no real week (W00, W54, or W53 in a
 * year of 52 weeks).
 *
 * @example
 *   weekRange("2026-W49"); // { week: "2026-W49", start: "2026-11-30", end: "2026-12-06", next: "2026-12-07" }
 *   weekRange("2021-W53"); // null: 2021 has 52 ISO weeks
 */
export function weekRange(week: string): WeekRange | null {
  if (!WEEK_PATTERN.test(week)) return null;
  const year = week.slice(0, 4);
  const n = Number(week.slice(6));
  if (n < 1) return null;
  const start = addDays(mondayOf(`${year}-01-04`), 7 * (n - 1));
  if (isoWeekOf(start) !== week) return null;
  return { week, start, end: addDays(start, 6), next: addDays(start, 7) };
}

/**
 * The last ISO week that has ended by `now`: on Monday 01:00 UTC, the week of the day before.
 *
 * @example
 *   weekJustEnded(new Date("2026-12-07T01:00:00Z")); // "2026-W49"
 */
export function weekJustEnded(now: Date): string {
  return isoWeekOf(addDays(mondayOf(now.toISOString().slice(0, 10)), -1));
}
