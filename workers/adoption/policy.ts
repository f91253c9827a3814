/**
 * Adoption, apart from any I/O: which workdays count, and the share of owners who used predictive
 * insights on at least 4 of the last 5 of them (the brief's "> 80% of CS teams using predictive
 * insights daily"). The route (`GET /v1/adoption`) feeds it the owners and their `owner_usage` rows.
 */
import { addDays } from "../../shared/days";
import { USAGE_ACTIONS, type UsageAction } from "../../shared/db/schema";
import type { Adoption } from "./schemas";

/** Workdays looked back over, and on how many of them an owner must have used insights. */
export const ADOPTION_WORKDAYS = 5;
export const MIN_ACTIVE_DAYS = 4;
/** The brief's target share of owners. */
export const ADOPTION_TARGET = 0.8;

/**
 * The last `n` workdays (Monday to Friday, UTC) ending at `asOf` (itself included when it is one),
 * oldest first.
 *
 * @example
 *   lastWorkdays("2026-12-06"); // a Sunday: ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
 */
export function lastWorkdays(asOf: string, n = ADOPTION_WORKDAYS): string[] {
  const days: string[] = [];
  for (let day = asOf; days.length < n; day = addDays(day, -1)) {
    const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
    if (weekday !== 0 && weekday !== 6) days.unshift(day);
  }
  return days;
}

export interface UsageRow {
  owner: string;
  day: string;
  action: UsageAction;
  count: number;
}

const pct = (v: number) => `${Math.round(v * 100)}%`;

/**
 * The adoption report as of `asOf`. Owners are every account owner plus anyone with usage on the
 * workdays considered; an owner is active with usage on at least MIN_ACTIVE_DAYS of them. Counts are
 * over those workdays; `lastActiveDay` is the owner's latest day with any use up to `asOf`, weekends
 * included. Owners are listed by name.
 */
export function adoptionReport(asOf: string, accountsByOwner: ReadonlyMap<string, number>, usage: readonly UsageRow[], lastActive: ReadonlyMap<string, string>): Adoption {
  const workdays = lastWorkdays(asOf);
  const inWindow = new Set(workdays);
  const names = new Set(accountsByOwner.keys());
  for (const u of usage) if (inWindow.has(u.day)) names.add(u.owner);
  const owners = [...names].sort().map((owner) => {
    const counts = Object.fromEntries(USAGE_ACTIONS.map((a) => [a, 0])) as Record<UsageAction, number>;
    const days = new Set<string>();
    for (const u of usage) {
      if (u.owner !== owner || !inWindow.has(u.day) || u.count <= 0) continue;
      counts[u.action] += u.count;
      days.add(u.day);
    }
    const activeOn = workdays.filter((d) => days.has(d));
    return {
      owner,
      accounts: accountsByOwner.get(owner) ?? 0,
      activeDays: activeOn.length,
      active: activeOn.length >= MIN_ACTIVE_DAYS,
      activeOn,
      counts,
      total: USAGE_ACTIONS.reduce((n, a) => n + counts[a], 0),
      lastActiveDay: lastActive.get(owner) ?? null,
    };
  });
  const activeOwners = owners.filter((o) => o.active).length;
  const share = owners.length ? Number((activeOwners / owners.length).toFixed(4)) : null;
  const span = `${workdays[0]} to ${workdays[workdays.length - 1]}`;
  const summary =
    share === null
      ? "No owners yet: give accounts an owner, and views, interventions and feedback are counted per owner."
      : `${activeOwners} of ${owners.length} owners (${pct(share)}) used predictive insights on at least ${MIN_ACTIVE_DAYS} of the last ${ADOPTION_WORKDAYS} workdays (${span}); the target is more than ${pct(ADOPTION_TARGET)}.`;
  return { asOf, workdays, minActiveDays: MIN_ACTIVE_DAYS, share, activeOwners, ownerCount: owners.length, summary, owners };
}
