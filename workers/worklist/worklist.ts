/**
 * `GET /v1/worklist?owner=&capacity=`: this week's accounts for one CSM, the ones where a timely
 * playbook could save the most ARR (policy.ts), each with its recommendation. Accounts held out
 * by the randomized holdout are skipped (their CSM must not work them, or the holdout measures
 * nothing); churned accounts are left out. Each view counts towards the owner's adoption.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { addDays } from "../../shared/days";
import { accounts, scores } from "../../shared/db/schema";
import { fromSql, sqlColumns } from "../../shared/db/rows";
import { today as todayOf } from "../../shared/db/write";
import { countUse } from "../adoption/usage";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { recommendationsFor } from "../playbooks/recommendation";
import { toScoreView } from "../scoring/schemas";
import { defaultCapacity, ownerCapacities } from "./capacity";
import { expectedArrSavedSql, WEEK_DAYS } from "./policy";
import { Worklist, type WorklistEntry } from "./schemas";

/** Candidates are read in pages of this many (more when the capacity is larger), until the list is full. */
const PAGE = 50;

/** Accounts of `owner` that are scored and whose latest outcome is not a churn, by expected ARR saved. */
const CANDIDATES = (expr: string) => `SELECT a.*, ${expr} AS expected, ${sqlColumns(scores, "s", "s_")}
  FROM accounts a JOIN scores s ON s.id = a.score_id
  WHERE a.owner = ?1 AND coalesce((SELECT o.type FROM outcomes o WHERE o.account_id = a.id ORDER BY o.date DESC LIMIT 1), '') != 'churned'
  ORDER BY expected DESC, a.id LIMIT ?3 OFFSET ?4`;

export const OwnerName = z.string().min(1).max(200).describe("The CSM, as in accounts' `owner`");

export class GetWorklist extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Worklist"],
    summary: "This week's accounts for a CSM, ranked by expected ARR saved, with what to do",
    description:
      "Ranks the owner's scored, not-churned accounts by churn probability × ARR × urgency (1 when `actBy` is within 7 days or past, 7 / days when later, 7 / 90 when nothing is due) and returns at most `capacity` of them, each with its recommendation (as `GET /v1/accounts/{id}/recommendation`). Accounts in the randomized holdout's control group are skipped and counted in `skippedControl`. `capacity` defaults to the owner's setting (`PUT /v1/worklist/owners/{owner}`), else `WORKLIST_CAPACITY`.",
    security: bearer,
    request: {
      query: z.object({
        owner: OwnerName,
        capacity: z.coerce.number().int().min(1).max(1000).optional().describe("Accounts this week; default the owner's capacity"),
      }),
    },
    responses: { "200": { description: "The week's list", ...contentJson(Worklist) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const env = c.env;
    const today = todayOf();
    const capacity = query.capacity ?? (await ownerCapacities(env)).get(query.owner) ?? defaultCapacity(env);
    const [{ n: candidates }] = (
      await env.DB.prepare(
        `SELECT count(*) AS n FROM accounts a WHERE a.owner = ?1 AND a.score_id IS NOT NULL
           AND coalesce((SELECT o.type FROM outcomes o WHERE o.account_id = a.id ORDER BY o.date DESC LIMIT 1), '') != 'churned'`,
      )
        .bind(query.owner)
        .all<{ n: number }>()
    ).results;

    const chosen: z.infer<typeof WorklistEntry>[] = [];
    let skippedControl = 0;
    const page = Math.max(PAGE, capacity * 2);
    for (let offset = 0; chosen.length < capacity && offset < candidates; offset += page) {
      const { results } = await env.DB.prepare(CANDIDATES(expectedArrSavedSql("?2"))).bind(query.owner, today, page, offset).all<Record<string, unknown>>();
      if (results.length === 0) break;
      const rows = results.map((r) => ({ account: fromSql(accounts, r)!, score: fromSql(scores, r, "s_")!, expected: r.expected as number }));
      const recs = await recommendationsFor(env, rows.map((r) => r.account), today);
      const open = await openInterventions(env.DB, rows.map((r) => r.account.id));
      rows.forEach(({ account, score, expected }, i) => {
        if (chosen.length >= capacity) return;
        if (recs[i].controlGroup) {
          skippedControl++;
          return;
        }
        const view = toScoreView(score);
        chosen.push({
          id: account.id,
          name: account.name,
          owner: account.owner,
          arr: account.arr,
          renewalDate: account.renewalDate,
          score: { churnProbability: view.churnProbability, health: view.health, riskTier: view.riskTier, tier: view.tier, trend: account.trend, actBy: recs[i].actBy ?? account.actBy, modelVersion: view.modelVersion, scoredAt: view.scoredAt },
          expectedArrSaved: Math.round(expected * 100) / 100,
          openIntervention: open.get(account.id) ?? null,
          recommendation: recs[i],
        });
      });
    }
    await countUse(env, query.owner, "worklist", today);
    return { owner: query.owner, capacity, week: { from: today, to: addDays(today, WEEK_DAYS - 1) }, accounts: chosen, candidates, skippedControl };
  }
}

/** The newest open intervention of each account. */
async function openInterventions(d1: D1Database, ids: string[]): Promise<Map<string, { id: string; playbookId: string; startedAt: string }>> {
  const { results } = await d1
    .prepare(
      `SELECT id, account_id, playbook_id, started_at FROM interventions WHERE status = 'open' AND account_id IN (SELECT value FROM json_each(?1))
       ORDER BY started_at`,
    )
    .bind(JSON.stringify(ids))
    .all<{ id: string; account_id: string; playbook_id: string; started_at: string }>();
  return new Map(results.map((r) => [r.account_id, { id: r.id, playbookId: r.playbook_id, startedAt: r.started_at }]));
}
