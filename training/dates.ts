/** Calendar days as numbers (days since 1970-01-01, UTC) and back, for event logs and cutoffs. */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/**
 * Days since 1970-01-01 of an ISO `YYYY-MM-DD` date, or NaN when it is not one (including
 * impossible days such as 1997-02-30, which `Date` would silently roll over).
 *
 * @example
 *   isoDay("1970-01-02"); // 1
 */
export function isoDay(text: string): number {
  const m = ISO_DATE.exec(text.trim());
  if (!m) return NaN;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
  return ms / DAY_MS;
}

/**
 * The ISO date of a day number from `isoDay`.
 *
 * @example
 *   isoDate(isoDay("1997-09-30") + 90); // "1997-12-29"
 */
export function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
