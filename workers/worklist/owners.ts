/**
 * `GET /v1/worklist/owners`: each CSM's load this week against their capacity, so a manager sees
 * who is over; `PUT /v1/worklist/owners/{owner}` sets one owner's weekly capacity.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { addDays } from "../../shared/days";
import { owners } from "../../shared/db/schema";
import { db, today as todayOf } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { defaultCapacity, ownerCapacities } from "./capacity";
import { WEEK_DAYS } from "./policy";
import { CapacityBody, type OwnerLoad, OwnerLoads } from "./schemas";
import { OwnerName } from "./worklist";

/**
 * Per owner: accounts not churned, those due this week outside a live control assignment, ARR at
 * risk, open interventions. A control assignment is live until assigned day + window days.
 */
const LOADS = `WITH live AS (
    SELECT a.owner, a.id, a.score_id, a.act_by, a.arr_at_risk FROM accounts a
    WHERE a.owner IS NOT NULL
      AND coalesce((SELECT o.type FROM outcomes o WHERE o.account_id = a.id ORDER BY o.date DESC LIMIT 1), '') != 'churned'
  )
  SELECT l.owner, count(*) AS accounts,
    sum(CASE WHEN l.score_id IS NOT NULL AND l.act_by IS NOT NULL AND l.act_by <= ?2
      AND NOT EXISTS (SELECT 1 FROM holdout_assignments h WHERE h.account_id = l.id AND h.arm = 'control'
        AND date(h.assigned_at, '+' || h.window_days || ' days') > ?1) THEN 1 ELSE 0 END) AS due,
    coalesce(sum(l.arr_at_risk), 0) AS arr_at_risk,
    (SELECT count(*) FROM interventions i WHERE i.owner = l.owner AND i.status = 'open') AS open_interventions
  FROM live l GROUP BY l.owner`;

export class ListOwnerLoads extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Worklist"],
    summary: "Each CSM's load this week against their capacity",
    description:
      "For every owner of an account: the accounts they hold (not churned), how many are due this week (actBy within 7 days or past, outside the holdout's control group), their capacity and the load (due ÷ capacity), ARR at risk and open interventions. Highest load first.",
    security: bearer,
    responses: { "200": { description: "Owners' loads", ...contentJson(OwnerLoads) }, ...problems(401, 403, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const today = todayOf();
    const [caps, { results }] = await Promise.all([
      ownerCapacities(c.env),
      c.env.DB.prepare(LOADS).bind(today, addDays(today, WEEK_DAYS - 1)).all<{ owner: string; accounts: number; due: number; arr_at_risk: number; open_interventions: number }>(),
    ]);
    const fallback = defaultCapacity(c.env);
    const list: z.infer<typeof OwnerLoad>[] = results.map((r) => {
      const own = caps.get(r.owner);
      const capacity = own ?? fallback;
      return {
        owner: r.owner,
        capacity,
        capacitySource: own === undefined ? "default" : "owner",
        accounts: r.accounts,
        dueThisWeek: r.due,
        load: Math.round((r.due / capacity) * 100) / 100,
        overCapacity: r.due > capacity,
        arrAtRisk: Math.round(r.arr_at_risk * 100) / 100,
        openInterventions: r.open_interventions,
      };
    });
    list.sort((a, b) => b.load - a.load || a.owner.localeCompare(b.owner));
    return { owners: list };
  }
}

export class PutOwnerCapacity extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Worklist"],
    summary: "Set a CSM's weekly capacity",
    description: "How many accounts the owner can work a week; the worklist returns at most this many unless `?capacity=` says otherwise.",
    security: bearer,
    request: { params: z.object({ owner: OwnerName }), body: contentJson(CapacityBody) },
    responses: {
      "200": { description: "Stored", ...contentJson(z.object({ owner: z.string(), capacity: z.number().int() })) },
      ...problems(400, 401, 403, 415, 422, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    await db(c.env.DB)
      .insert(owners)
      .values({ owner: params.owner, capacity: body.capacity })
      .onConflictDoUpdate({ target: owners.owner, set: { capacity: body.capacity, updatedAt: sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))` } });
    return { owner: params.owner, capacity: body.capacity };
  }
}
