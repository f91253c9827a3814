/**
 * The export's rows from D1, page by page: every scored account with its current score, keyset by
 * id (`id > last id`, PAGE rows a query), so a walk over a million accounts holds one page at a
 * time and accounts added or rescored meanwhile cause no duplicates or gaps among the others. Each
 * row carries the playbook that applies (the current playbooks read once per walk, matched on the
 * portfolio tier and the score's top risk driver, as rescoring and the recommendation match them),
 * except for accounts the randomized holdout holds out: they get none, so no playbook reaches a
 * control account's CSM through the CRM either.
 */
import { healthOf } from "../../shared/cs/trajectory";
import type { SqlPick } from "../../shared/db/rows";
import type { accounts, scores } from "../../shared/db/schema";
import { armFor, assignmentsOf, holdoutConfig, holdoutSalt, periodOf, standing } from "../playbooks/holdout";
import { isPlaybookTier, matchPlaybook } from "../playbooks/policy";
import { currentPlaybooks, type PlaybookRow } from "../playbooks/store";
import { type ExportRow, round4 } from "./columns";

/** Accounts per D1 query. */
export const PAGE = 1000;

type PageRow = SqlPick<typeof accounts, "id" | "name" | "owner" | "arr" | "trend" | "act_by"> &
  SqlPick<typeof scores, "churn_probability" | "health" | "expansion_probability" | "expansion_ready" | "model_version" | "scored_at"> & {
    tier: string;
    driver_1: string | null;
    driver_2: string | null;
    driver_3: string | null;
    /** The driver that raises risk the most, as JSON {feature, contribution}; only for playbook tiers. */
    top_risk: string | null;
  };

// The top three drivers' phrases and the top risk driver come out of SQLite's JSON functions, so a
// page's stored drivers are never parsed in JavaScript. Ties between equal contributions go to the
// first, as topRiskDriver breaks them.
const PAGE_SQL = `SELECT a.id, a.name, a.owner, a.arr, a.trend, a.act_by,
    s.churn_probability, coalesce(s.tier, s.risk_tier) AS tier, s.health, s.expansion_probability, s.expansion_ready, s.model_version, s.scored_at,
    json_extract(s.drivers, '$[0].phrase') AS driver_1, json_extract(s.drivers, '$[1].phrase') AS driver_2, json_extract(s.drivers, '$[2].phrase') AS driver_3,
    CASE WHEN coalesce(s.tier, s.risk_tier) IN ('red', 'yellow', 'blue') THEN
      (SELECT json_object('feature', json_extract(d.value, '$.feature'), 'contribution', json_extract(d.value, '$.contribution'))
       FROM json_each(s.drivers) d WHERE json_extract(d.value, '$.contribution') > 0
       ORDER BY json_extract(d.value, '$.contribution') DESC, d.key LIMIT 1)
    END AS top_risk
  FROM accounts a JOIN scores s ON s.id = a.score_id
  WHERE a.id > ?1 ORDER BY a.id LIMIT ?2`;

/** What a walk reads once: the current playbooks, the holdout's settings and (when first needed) its salt. */
interface Walk {
  env: Env;
  today: string;
  playbooks: PlaybookRow[];
  share: number;
  salt?: string;
}

/**
 * The playbook for each row of a page, by account id: the match for its tier and top risk driver,
 * unless the holdout holds the account out. An account in a playbook tier with no assignment that
 * bears on today gets the arm its first look would draw (same salt, account, tier and month), and
 * none when that is the control group. Reads only: the assignment is recorded where it always is
 * (rescoring, or the first recommendation).
 */
async function playbooksFor(w: Walk, rows: readonly PageRow[]): Promise<Map<string, PlaybookRow>> {
  const matched = new Map<string, { row: PageRow; playbook: PlaybookRow }>();
  for (const r of rows) {
    if (!isPlaybookTier(r.tier)) continue;
    const top = r.top_risk ? [JSON.parse(r.top_risk) as { feature: string; contribution: number }] : [];
    const { playbook } = matchPlaybook(w.playbooks, r.tier, top);
    if (playbook) matched.set(r.id, { row: r, playbook });
  }
  const out = new Map<string, PlaybookRow>();
  if (matched.size === 0) return out;
  const stored = await assignmentsOf(w.env.DB, [...matched.keys()], w.today);
  for (const [id, { row, playbook }] of matched) {
    const tier = row.tier as PlaybookRow["tier"];
    const s = standing(stored.get(id) ?? [], tier, w.today);
    if (s.state === "held-out") continue;
    if (s.state === "unassigned") {
      w.salt ??= await holdoutSalt(w.env);
      if ((await armFor(w.salt, id, tier, periodOf(w.today), w.share)) === "control") continue;
    }
    out.set(id, playbook);
  }
  return out;
}

function toExportRow(r: PageRow, playbook: PlaybookRow | undefined): ExportRow {
  return {
    id: r.id,
    name: r.name,
    owner: r.owner,
    arr: r.arr,
    churnProbability: round4(r.churn_probability)!,
    tier: r.tier,
    health: r.health ?? healthOf(r.churn_probability),
    trend: r.trend,
    actBy: r.act_by,
    driver1: r.driver_1,
    driver2: r.driver_2,
    driver3: r.driver_3,
    expansionReady: r.expansion_ready === null ? null : r.expansion_ready === 1,
    expansionProbability: round4(r.expansion_probability),
    playbookId: playbook?.id ?? null,
    playbookName: playbook?.name ?? null,
    modelVersion: r.model_version,
    scoredAt: r.scored_at,
  };
}

/**
 * Every scored account's export row, a page at a time, in id order. Accounts never scored are left
 * out (they have no score to export).
 *
 * @example
 *   for await (const page of exportPages(env, "2026-12-01")) rows += page.length;
 */
export async function* exportPages(env: Env, today: string, pageSize = PAGE): AsyncGenerator<ExportRow[]> {
  const w: Walk = { env, today, playbooks: await currentPlaybooks(env), share: holdoutConfig(env).share };
  let after = "";
  for (;;) {
    const { results } = await env.DB.prepare(PAGE_SQL).bind(after, pageSize).all<PageRow>();
    if (results.length === 0) return;
    const playbooks = await playbooksFor(w, results);
    yield results.map((r) => toExportRow(r, playbooks.get(r.id)));
    if (results.length < pageSize) return;
    after = results[results.length - 1].id;
  }
}
