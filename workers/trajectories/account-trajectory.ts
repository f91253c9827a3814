/**
 * `GET /v1/accounts/{id}/trajectory`: where the account's health is heading and when to act.
 * Computed from the account's current score and weekly health history (an account never scored
 * is scored afresh, without storing).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { assess } from "../../shared/cs/assess";
import { healthOf } from "../../shared/cs/trajectory";
import { DEFAULT_TIERS } from "../../shared/model/artifact";
import type { RiskTier } from "../../shared/tiers";
import { loadAccount, notFound } from "../accounts/store";
import type { AppEnv } from "../http/auth";
import { AccountId, bearer, problems } from "../http/schemas";
import { activeScorer, activeTrajectoryModel, requireModels } from "../scoring/model-cache";
import { Trajectory } from "./schemas";
import { snapshotsInRange } from "./rescore";
import { leadDays, modelForecast, trajectoryOf } from "./trajectory";

export class AccountTrajectory extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Trajectories"],
    summary: "Where the account's health is heading, and when to act",
    description:
      "Health now and forecast at 30, 60 and 90 days with 90% intervals, the trend (read from the interval, not the sign), `actBy` (the latest day that still leaves the playbook lead time before the forecast turns red or the renewal comes, today when already red) with its reasons, and the weekly health history. `source` says whether the active trajectory model or the account's own damped trend forecast it.",
    security: bearer,
    request: { params: z.object({ id: AccountId }) },
    responses: { "200": { description: "The trajectory", ...contentJson(Trajectory) }, ...problems(401, 403, 404, 422, 429, 503) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const account = await loadAccount(c.env, params.id);
    if (!account) throw notFound(params.id, "id");
    const churn = await activeScorer(c.env, "churn");
    let current = account.churnProbability !== null && account.riskTier !== null && account.scoredAt !== null
      ? { p: account.churnProbability, riskTier: account.riskTier as RiskTier, tier: (account.tier ?? account.riskTier) as RiskTier | "blue", scoredAt: account.scoredAt }
      : null;
    if (!current) {
      const a = assess(await requireModels(c.env), account.features, 0);
      current = { p: a.score.churnProbability, riskTier: a.score.riskTier, tier: a.tier, scoredAt: new Date().toISOString() };
    }
    const today = new Date().toISOString().slice(0, 10);
    const facts = {
      today,
      health: account.health ?? healthOf(current.p),
      riskTier: current.riskTier,
      tier: current.tier,
      redThreshold: churn?.artifact.tiers.red ?? DEFAULT_TIERS.red,
      renewalDate: account.renewalDate,
      history: account.healthHistory,
    };
    const model = await activeTrajectoryModel(c.env);
    // [id, id + "\0") is exactly this account's rows: the same query rescoring runs per chunk.
    const snapshots = model ? ((await snapshotsInRange(c.env.DB, params.id, `${params.id}\u0000`, today)).get(params.id) ?? []) : [];
    const t = trajectoryOf(facts, leadDays(c.env), model ? modelForecast(model, facts, account.features, snapshots) : null);
    return { accountId: params.id, ...t, scoredAt: current.scoredAt };
  }
}
