/**
 * The SaaS demo's CS team using the product (simulated, not real): each owner's worklist and
 * recommendation views on the workdays of the last USAGE_WEEKS weeks, with the interventions and
 * feedback they recorded on those days, as `owner_usage` counts them. Most owners use it on
 * nearly every workday (93% of them); two, picked by the seed, on under half (45%), so
 * `GET /v1/adoption` shows a realistic share below 100%.
 */
import { addDays } from "../../shared/days";
import type { UsageAction } from "../../shared/db/schema";
import type { SaasIntervention, SaasFeedback } from "./saas-cs";
import { Draws, isWeekend, STREAM_USAGE } from "./saas-draws";

/** Weeks of usage written, ending today. */
export const USAGE_WEEKS = 6;
/** Chance an owner uses predictive insights on a workday: most owners, and the two light users. */
export const ACTIVE_DAY_CHANCE = 0.93;
export const LIGHT_DAY_CHANCE = 0.45;
export const LIGHT_USERS = 2;

/** One `owner_usage` row. */
export interface SaasUsage {
  owner: string;
  day: string;
  action: UsageAction;
  count: number;
}

/** What usage reads of an account: its owner and what the owner recorded on it. */
interface OwnedWork {
  owner: string;
  interventions: readonly SaasIntervention[];
  feedback: readonly SaasFeedback[];
}

/** Interventions started, updated (a step done) or closed, and feedback given, per owner and day. */
function recorded(accounts: readonly OwnedWork[]): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (owner: string, day: string, action: UsageAction) => {
    const key = `${owner}|${day.slice(0, 10)}|${action}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const a of accounts) {
    for (const iv of a.interventions) {
      for (const at of [iv.startedAt, ...iv.stepsDone.map((s) => s.doneAt), ...(iv.closedAt ? [iv.closedAt] : [])]) add(iv.owner, at, "intervention");
    }
    for (const f of a.feedback) add(f.owner, f.createdAt, "feedback");
  }
  return counts;
}

/**
 * The usage rows of the last USAGE_WEEKS weeks ending `today`, by owner then day. An owner's
 * inactive workday has no rows (what they recorded that day was entered elsewhere); weekends have none.
 *
 * @example
 *   simulateUsage(2026, "2026-06-01", portfolio.accounts).filter((u) => u.action === "worklist");
 */
export function simulateUsage(seed: number, today: string, accounts: readonly OwnedWork[]): SaasUsage[] {
  const r = new Draws(seed, 0, STREAM_USAGE);
  const owners = [...new Set(accounts.map((a) => a.owner))].sort();
  const light = new Set<string>();
  while (light.size < Math.min(LIGHT_USERS, owners.length - 1)) light.add(r.pick(owners));
  const work = recorded(accounts);
  const rows: SaasUsage[] = [];
  for (const owner of owners) {
    for (let back = USAGE_WEEKS * 7 - 1; back >= 0; back--) {
      const day = addDays(today, -back);
      if (isWeekend(day) || !r.chance(light.has(owner) ? LIGHT_DAY_CHANCE : ACTIVE_DAY_CHANCE)) continue;
      const counts: Record<UsageAction, number> = {
        worklist: r.int(1, 3),
        recommendation: r.int(0, 4),
        intervention: work.get(`${owner}|${day}|intervention`) ?? 0,
        feedback: work.get(`${owner}|${day}|feedback`) ?? 0,
      };
      for (const [action, count] of Object.entries(counts) as [UsageAction, number][]) if (count > 0) rows.push({ owner, day, action, count });
    }
  }
  return rows;
}
