/**
 * Calendar days as YYYY-MM-DD strings, by UTC day: the one `addDays` and `daysBetween` for the
 * Worker and training alike.
 */
export const DAY_MS = 86_400_000;

/**
 * A day (YYYY-MM-DD, or the day of an ISO time) plus `days`.
 *
 * @example
 *   addDays("2026-12-01", 30); // "2026-12-31"
 */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(day.slice(0, 10)) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` to `to` (YYYY-MM-DD or ISO times), by UTC day. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / DAY_MS);
}
