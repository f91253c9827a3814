/**
 * `GET /v1/accounts/{id}/trajectory`: where the account's health is heading and when to act.
 * Computed from the account's current score and weekly health history (an account never scored
 * is scored afresh, without storing); the lead time behind `actBy` is the matched playbook's.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { loadAccount, notFound } from "../accounts/store";
import type { AppEnv } from "../http/auth";
import { AccountId, bearer, problems } from "../http/schemas";
import { leadDaysWith, matchPlaybook } from "../playbooks/policy";
import { currentPlaybooks } from "../playbooks/store";
import { currentScore, trajectoryNow } from "./current";
import { Trajectory } from "./schemas";
import { leadDays } from "./trajectory";

export class AccountTrajectory extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Trajectories"],
    summary: "Where the account's health is heading, and when to act",
    description:
      "Health now and forecast at 30, 60 and 90 days with 90% intervals, the trend (read from the interval, not the sign), `actBy` (the latest day that still leaves the playbook lead time before the forecast turns red or the renewal comes, today when already red) with its reasons, and the weekly health history. The lead time is the `leadDays` of the playbook that fits the account's tier and top driver (ACT_BY_LEAD_DAYS when none does). `source` says whether the active trajectory model or the account's own damped trend forecast it.",
    security: bearer,
    request: { params: z.object({ id: AccountId }) },
    responses: { "200": { description: "The trajectory", ...contentJson(Trajectory) }, ...problems(401, 403, 404, 422, 429, 503) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const account = await loadAccount(c.env, params.id);
    if (!account) throw notFound(params.id, "id");
    const current = await currentScore(c.env, account);
    const match = matchPlaybook(await currentPlaybooks(c.env), current.tier, current.drivers);
    const today = new Date().toISOString().slice(0, 10);
    const t = await trajectoryNow(c.env, account, current, leadDaysWith(leadDays(c.env), match), today);
    return { accountId: params.id, ...t, scoredAt: current.scoredAt };
  }
}
