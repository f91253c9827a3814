/** `GET /v1/adoption?asOf=`: who on the CS team used predictive insights on the last 5 workdays (rules in `policy.ts`). */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import type { SqlPick } from "../../shared/db/rows";
import type { ownerUsage } from "../../shared/db/schema";
import { today } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { bearer, IsoDate, problems } from "../http/schemas";
import { adoptionReport, lastWorkdays, type UsageRow } from "./policy";
import { Adoption } from "./schemas";

export class GetAdoption extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Adoption"],
    summary: "The share of owners using predictive insights on at least 4 of the last 5 workdays",
    description:
      "Every worklist view, recommendation view, intervention (created or updated) and feedback is counted per owner per day in D1 (nothing is sent anywhere). Owners are every distinct account owner plus anyone with usage on the workdays considered: the last 5 Monday-to-Friday days ending at `asOf` (UTC). `share` is the share of them with usage on at least 4 of those days.",
    security: bearer,
    request: { query: z.object({ asOf: IsoDate.optional().describe("The last day considered (YYYY-MM-DD); default today") }) },
    responses: { "200": { description: "The report", ...contentJson(Adoption) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    return adoptionAsOf(c.env, query.asOf ?? today());
  }
}

/**
 * The adoption report as of `asOf` (YYYY-MM-DD) from D1: the owners, their `owner_usage` rows on the
 * last 5 workdays and their last active day, in one batch. The route and the weekly insights digest read it.
 *
 * @example
 *   const { share, owners } = await adoptionAsOf(env, "2026-12-06");
 */
export async function adoptionAsOf(env: Pick<Env, "DB">, asOf: string): Promise<Adoption> {
  const workdays = JSON.stringify(lastWorkdays(asOf));
  const [owners, usage, last] = await env.DB.batch([
    env.DB.prepare("SELECT owner, count(*) AS accounts FROM accounts WHERE owner IS NOT NULL AND owner <> '' GROUP BY owner"),
    env.DB.prepare("SELECT owner, day, action, count FROM owner_usage WHERE day IN (SELECT value FROM json_each(?1))").bind(workdays),
    env.DB.prepare("SELECT owner, max(day) AS day FROM owner_usage WHERE day <= ?1 AND count > 0 GROUP BY owner").bind(asOf),
  ]);
  const accountsByOwner = new Map((owners.results as { owner: string; accounts: number }[]).map((r) => [r.owner, r.accounts]));
  const lastActive = new Map((last.results as SqlPick<typeof ownerUsage, "owner" | "day">[]).map((r) => [r.owner, r.day]));
  return adoptionReport(asOf, accountsByOwner, usage.results as UsageRow[], lastActive);
}
