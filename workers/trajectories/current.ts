/**
 * An account's trajectory as of now, for the routes that show one (`GET /v1/accounts/{id}/trajectory`,
 * the recommendation): from its current score, or a fresh one (not stored) when it was never
 * scored, its weekly health history and, when a trajectory model is active, its recent snapshots.
 */
import { assess } from "../../shared/cs/assess";
import { healthOf, type LeadDays } from "../../shared/cs/trajectory";
import type { accounts } from "../../shared/db/schema";
import { DEFAULT_TIERS } from "../../shared/model/artifact";
import type { PortfolioTier, RiskTier } from "../../shared/tiers";
import { activeScorer, activeTrajectoryModel, requireModels } from "../scoring/model-cache";
import { snapshotsInRange } from "./rescore";
import { modelForecast, type Trajectory, trajectoryOf } from "./trajectory";

type AccountRow = typeof accounts.$inferSelect;

/** The score a trajectory starts from, with its drivers (what picks the playbook and so the lead time). */
export interface CurrentScore {
  p: number;
  riskTier: RiskTier;
  tier: PortfolioTier;
  scoredAt: string;
  drivers: { feature: string; value?: unknown; contribution: number; phrase?: string }[];
}

/** The account's current score, or a fresh assessment of its signals (not stored) when it has none; 503 without a model. */
export async function currentScore(env: Env, account: AccountRow): Promise<CurrentScore> {
  if (account.churnProbability !== null && account.riskTier !== null && account.scoredAt !== null) {
    const stored = account.scoreId === null ? null : await env.DB.prepare("SELECT drivers FROM scores WHERE id = ?1").bind(account.scoreId).first<{ drivers: string }>();
    return {
      p: account.churnProbability,
      riskTier: account.riskTier as RiskTier,
      tier: (account.tier ?? account.riskTier) as PortfolioTier,
      scoredAt: account.scoredAt,
      drivers: stored ? (JSON.parse(stored.drivers) as CurrentScore["drivers"]) : [],
    };
  }
  const a = assess(await requireModels(env), account.features, 10);
  return { p: a.score.churnProbability, riskTier: a.score.riskTier, tier: a.tier, scoredAt: new Date().toISOString(), drivers: a.score.drivers };
}

/**
 * The account's trajectory as of `today` from `current`, with the lead times `lead` (the matched
 * playbook's for its tier; see workers/playbooks/policy.ts `leadDaysWith`).
 */
export async function trajectoryNow(env: Env, account: AccountRow, current: CurrentScore, lead: LeadDays, today: string): Promise<Trajectory> {
  const churn = await activeScorer(env, "churn");
  const facts = {
    today,
    health: account.health ?? healthOf(current.p),
    riskTier: current.riskTier,
    tier: current.tier,
    redThreshold: churn?.artifact.tiers.red ?? DEFAULT_TIERS.red,
    renewalDate: account.renewalDate,
    history: account.healthHistory,
  };
  const model = await activeTrajectoryModel(env);
  // [id, id + "\0") is exactly this account's rows: the same query rescoring runs per chunk.
  const snapshots = model ? ((await snapshotsInRange(env.DB, account.id, `${account.id}\u0000`, today)).get(account.id) ?? []) : [];
  return trajectoryOf(facts, lead, model ? modelForecast(model, facts, account.features, snapshots) : null);
}
