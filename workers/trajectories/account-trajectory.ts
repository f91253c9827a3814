/**
 * `GET /v1/accounts/{id}/trajectory`: where the account's health is heading and when to act.
 * Computed from the account's current score and weekly health history (an account never scored
 * is scored afresh, without storing).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import type { SqlPick } from "../../shared/db/rows";
import type { signalSnapshots } from "../../shared/db/schema";
import { assess } from "../../shared/cs/assess";
import { healthOf } from "../../shared/cs/trajectory";
import { DEFAULT_TIERS } from "../../shared/model/artifact";
import type { RiskTier } from "../../shared/tiers";
import { loadAccount, notFound } from "../accounts/store";
import type { AppEnv } from "../http/auth";
import { AccountId, bearer, problems } from "../http/schemas";
import { activeScorer, activeTrajectoryModel, requireModels } from "../scoring/model-cache";
import { Trajectory } from "./schemas";
import { leadDays, modelForecast, SNAPSHOT_LOOKBACK_DAYS, type SnapshotAt, trajectoryOf } from "./trajectory";
import { addDays } from "../../shared/cs/trajectory";

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
    const snapshots = model ? await snapshotsBack(c.env.DB, params.id, today) : [];
    const t = trajectoryOf(facts, leadDays(c.env), model ? modelForecast(model, facts, account.features, snapshots) : null);
    return { accountId: params.id, ...t, scoredAt: current.scoredAt };
  }
}

/** The account's signal snapshots of the last SNAPSHOT_LOOKBACK_DAYS, oldest first. */
async function snapshotsBack(d1: D1Database, id: string, today: string): Promise<SnapshotAt[]> {
  const { results } = await d1
    .prepare("SELECT as_of, features FROM signal_snapshots WHERE account_id = ?1 AND as_of >= ?2 AND as_of < ?3 ORDER BY as_of")
    .bind(id, addDays(today, -SNAPSHOT_LOOKBACK_DAYS), today)
    .all<SqlPick<typeof signalSnapshots, "as_of" | "features">>();
  return results.map((r) => ({ date: r.as_of, signals: JSON.parse(r.features) as SnapshotAt["signals"] }));
}
