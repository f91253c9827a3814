/**
 * The impact report from D1: the holdout assignments of a period whose outcome window has closed,
 * summed per arm, playbook and owner in one grouped query (churn within the window, the churn
 * probability at assignment, red → yellow/green transitions), then turned into figures by
 * `figures.ts`. Exported for the route and for the weekly insights digest.
 */
import { addDays } from "../../shared/days";
import type { ARMS } from "../../shared/db/schema";
import { today as todayUtc } from "../../shared/db/write";
import type { z } from "zod";
import { holdoutConfig } from "../playbooks/holdout";
import { type ArmFacts, type BlockFacts, type BlockFigures, blockFigures, emptyArmFacts } from "./figures";
import type { Impact } from "./schemas";
import { addArms, TRANSITION_DAYS } from "./stats";

export interface ImpactQuery {
  /** First and last assignment day, YYYY-MM-DD, both included. */
  from: string;
  to: string;
  /** Only assignments to this playbook (the treated arm's, or the one the control group would have had). */
  playbook?: string | null;
  /** The day windows are judged closed on (UTC today unless given). */
  today?: string;
}

/** The report as `GET /v1/impact` returns it (shape and field meanings in schemas.ts). */
export type ImpactReport = z.infer<typeof Impact>;

/** One group of the aggregate query: an arm, a playbook and an owner. */
interface GroupRow {
  arm: (typeof ARMS)[number];
  playbook_id: string | null;
  owner: string | null;
  n: number;
  churned: number;
  arr: number;
  nx: number;
  sx: number;
  sxx: number;
  sxy: number;
  y_missing_x: number;
  [transition: `red_${number}` | `recovered_${number}`]: number;
}

const closedWindow = "date(h.assigned_at, '+' || h.window_days || ' days') <= ?3";

/**
 * The grouped query (README "Impact" prints it). `?1`/`?2`: the period as [from, to + 1 day) on
 * `assigned_at` (the index); `?3`: today; `?4`: the playbook, when filtered. A churn counts when a
 * `churned` outcome is dated from the assignment day to that day + window_days; a red assignment
 * has moved by day N when a score after the assignment, dated at most N days later, is yellow or
 * green, and counts only once its N-day window has passed.
 */
export function impactSql(playbook: boolean): string {
  const transitions = TRANSITION_DAYS.flatMap((n) => [
    `sum(tier = 'red' AND date(day, '+${n} days') <= ?3) AS red_${n}`,
    `coalesce(sum(tier = 'red' AND date(day, '+${n} days') <= ?3 AND recovered_at < date(day, '+${n + 1} days')), 0) AS recovered_${n}`,
  ]);
  const last = TRANSITION_DAYS[TRANSITION_DAYS.length - 1];
  return `WITH a AS MATERIALIZED (
  SELECT h.arm, h.playbook_id, h.owner, h.tier, h.arr, h.churn_probability AS x, date(h.assigned_at) AS day,
    EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = h.account_id AND o.type = 'churned'
      AND o.date >= date(h.assigned_at) AND o.date <= date(h.assigned_at, '+' || h.window_days || ' days')) AS y,
    CASE WHEN h.tier = 'red' THEN (SELECT min(s.scored_at) FROM scores s WHERE s.account_id = h.account_id
      AND s.scored_at > h.assigned_at AND s.scored_at < date(h.assigned_at, '+${last + 1} days') AND s.risk_tier IN ('yellow', 'green')) END AS recovered_at
  FROM holdout_assignments h
  WHERE h.assigned_at >= ?1 AND h.assigned_at < ?2${playbook ? " AND h.playbook_id = ?4" : ""} AND ${closedWindow}
)
SELECT arm, playbook_id, owner, count(*) AS n, sum(y) AS churned, total(arr) AS arr,
  count(x) AS nx, total(x) AS sx, total(x * x) AS sxx, total(x * y) AS sxy, total(CASE WHEN x IS NULL THEN y END) AS y_missing_x,
  ${transitions.join(",\n  ")}
FROM a GROUP BY arm, playbook_id, owner`;
}

function pendingSql(playbook: boolean): string {
  return `SELECT count(*) AS pending FROM holdout_assignments h WHERE h.assigned_at >= ?1 AND h.assigned_at < ?2${playbook ? " AND h.playbook_id = ?4" : ""} AND NOT (${closedWindow})`;
}

function factsOf(r: GroupRow): ArmFacts {
  return {
    sums: { n: r.n, churned: r.churned, arr: r.arr, nx: r.nx, sx: r.sx, sxx: r.sxx, sxy: r.sxy, yMissingX: r.y_missing_x },
    redEligible: TRANSITION_DAYS.map((n) => r[`red_${n}`]),
    redRecovered: TRANSITION_DAYS.map((n) => r[`recovered_${n}`]),
  };
}

function addFacts(a: ArmFacts, b: ArmFacts): ArmFacts {
  return { sums: addArms(a.sums, b.sums), redEligible: a.redEligible.map((v, i) => v + b.redEligible[i]), redRecovered: a.redRecovered.map((v, i) => v + b.redRecovered[i]) };
}

/** Sums the groups into one block per key (the whole period when `key` gives one value). */
function blocks<K>(rows: GroupRow[], key: (r: GroupRow) => K): Map<K, BlockFacts> {
  const out = new Map<K, BlockFacts>();
  for (const r of rows) {
    const k = key(r);
    const b = out.get(k) ?? { control: emptyArmFacts(), treated: emptyArmFacts() };
    b[r.arm] = addFacts(b[r.arm], factsOf(r));
    out.set(k, b);
  }
  return out;
}

/** The holdout share the arms are meant to have (HOLDOUT_SHARE), for sizing when an arm is still empty; 0.1 when there is no holdout to size. */
export function holdoutShare(env: Pick<Env, "HOLDOUT_SHARE">): number {
  const { share } = holdoutConfig(env);
  return share > 0 && share < 1 ? share : 0.1;
}

const byAccounts = <T extends BlockFigures>(key: (b: T) => string | null) => (a: T, b: T) =>
  b.treated.accounts + b.control.accounts - (a.treated.accounts + a.control.accounts) || String(key(a) ?? "\uffff").localeCompare(String(key(b) ?? "\uffff"));

/**
 * The measured impact of playbooks against the holdout, over accounts assigned from `from` to
 * `to` whose outcome window has closed: overall, per playbook and per owner. Two queries in one batch.
 *
 * @example
 *   const report = await impactReport(env, { from: "2026-01-01", to: "2026-06-30" });
 *   report.summary; // "Playbooks cut churn by 8.1 points (95% CI 2.5 to 13.7, cupac), ..."
 */
export async function impactReport(env: Pick<Env, "DB" | "HOLDOUT_SHARE">, q: ImpactQuery): Promise<ImpactReport> {
  const asOf = q.today ?? todayUtc();
  const playbook = q.playbook ?? null;
  const binds: (string | null)[] = [q.from, addDays(q.to, 1), asOf, ...(playbook ? [playbook] : [])];
  const [groups, pending] = await env.DB.batch([env.DB.prepare(impactSql(!!playbook)).bind(...binds), env.DB.prepare(pendingSql(!!playbook)).bind(...binds)]);
  const rows = groups.results as GroupRow[];
  const share = holdoutShare(env);
  const overall = blocks(rows, () => "all").get("all") ?? { control: emptyArmFacts(), treated: emptyArmFacts() };
  return {
    from: q.from,
    to: q.to,
    asOf,
    playbook,
    pendingAccounts: (pending.results[0] as { pending: number } | undefined)?.pending ?? 0,
    ...blockFigures(overall, share),
    playbooks: [...blocks(rows, (r) => r.playbook_id)].map(([playbookId, b]) => ({ playbookId, ...blockFigures(b, share) })).sort(byAccounts((b) => b.playbookId)),
    owners: [...blocks(rows, (r) => r.owner)].map(([owner, b]) => ({ owner, ...blockFigures(b, share) })).sort(byAccounts((b) => b.owner)),
  };
}
