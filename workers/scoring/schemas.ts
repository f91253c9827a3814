/**
 * Scores in the API. The `scores` table is the one stored shape; `ScoreView` is its one API view
 * (camelCase, the interval as a pair, the expansion columns named for what they hold), and
 * `toScoreView` the one mapping from a stored row to it. Every answer that shows a score picks
 * from that view: an account's latest score, the worklist, the history, and the live score,
 * which extends it with what only a fresh computation knows (margin, base value, unseen levels).
 */
import { z } from "zod";
import type { scores } from "../../shared/db/schema";
import { PORTFOLIO_TIERS, RISK_TIERS } from "../../shared/tiers";
import { healthOf, TRENDS } from "../../shared/cs/trajectory";
import { SignalValue } from "../http/schemas";

export const RiskTier = z.enum(RISK_TIERS);

export const PortfolioTier = z
  .enum(PORTFOLIO_TIERS)
  .describe("The risk tier, except that an expansion-ready account (expansion probability at or above the threshold, churn below 0.40) is blue");

export const Confidence = z.enum(["high", "medium", "low"]);

export const ExpansionSource = z.enum(["model", "scorecard"]);

export const Driver = z.object({
  feature: z.string().describe("Your column name"),
  value: SignalValue.optional(),
  contribution: z.number().describe("Signed contribution to the churn log-odds (exact SHAP); positive raises risk"),
  effect: z.enum(["raises risk", "lowers risk"]),
  phrase: z.string(),
});

export const ExpansionReadiness = z.object({
  expansionReady: z.boolean(),
  expansionProbability: z.number().min(0).max(1).describe("Expansion model probability, or the scorecard's readiness on the same 0-1 scale"),
  reason: z.string().describe("Why the account is or is not ready, in a CSM's words"),
  source: ExpansionSource.describe("scorecard until `expanded` outcomes have trained an expansion model"),
  modelVersion: z.string().nullable().describe("The expansion model's version; null for the scorecard"),
});

/** A stored score (one `scores` row) as the API shows it. */
export const ScoreView = z.object({
  id: z.number().int(),
  churnProbability: z.number(),
  health: z.number().int().describe("round(100 × (1 − churnProbability)): 100 is healthiest; the red tier is at or below 100 × (1 − the red threshold), 30 by default"),
  trend: z.enum(TRENDS).nullable().describe("Where the health trajectory is heading, as of this score (rescoring's scores; null elsewhere)"),
  actBy: z.string().nullable().describe("The latest day to act (YYYY-MM-DD), as of this score (rescoring's scores; null elsewhere)"),
  interval: z.tuple([z.number(), z.number()]).nullable(),
  confidence: Confidence.nullable(),
  riskTier: RiskTier,
  tier: PortfolioTier,
  expansionProbability: z.number().nullable(),
  expansionReady: z.boolean().nullable(),
  expansionSource: ExpansionSource.nullable(),
  drivers: z.array(z.unknown()),
  imputed: z.array(z.string()),
  modelVersion: z.string().describe("The churn model that produced this score"),
  expansionModelVersion: z.string().nullable(),
  source: z.string().describe("api, batch, rescore or start"),
  runId: z.string().nullable(),
  scoredAt: z.string(),
});
export type ScoreView = z.infer<typeof ScoreView>;

/**
 * The API view of a stored score row.
 *
 * @example
 *   const row = await db(env.DB).select().from(scores).where(eq(scores.id, id)).get();
 *   return toScoreView(row);
 */
export function toScoreView(row: typeof scores.$inferSelect): ScoreView {
  return {
    id: row.id,
    churnProbability: row.churnProbability,
    health: row.health ?? healthOf(row.churnProbability),
    trend: row.trend,
    actBy: row.actBy,
    interval: row.intervalLow != null && row.intervalHigh != null ? [row.intervalLow, row.intervalHigh] : null,
    confidence: row.confidence as ScoreView["confidence"],
    riskTier: row.riskTier as ScoreView["riskTier"],
    tier: (row.tier ?? row.riskTier) as ScoreView["tier"],
    expansionProbability: row.expansionProbability,
    expansionReady: row.expansionReady,
    expansionSource: row.expansionSource as ScoreView["expansionSource"],
    drivers: row.drivers,
    imputed: row.imputed,
    modelVersion: row.modelVersion,
    expansionModelVersion: row.expansionVersion,
    source: row.source,
    runId: row.runId,
    scoredAt: row.scoredAt,
  };
}

/** The expansion readiness a stored score recorded, or null for scores from before expansion existed. */
export function storedExpansion(row: typeof scores.$inferSelect): z.infer<typeof ExpansionReadiness> | null {
  if (row.expansionProbability == null) return null;
  return { expansionReady: !!row.expansionReady, expansionProbability: row.expansionProbability, reason: row.expansionReason ?? "", source: (row.expansionSource ?? "scorecard") as "model" | "scorecard", modelVersion: row.expansionVersion ?? null };
}

/**
 * An account's latest score, as `GET /v1/accounts/{id}` shows it. (Its `riskTier` is documented
 * as a plain string, as it always was; the values are RISK_TIERS.)
 */
export const LatestScore = ScoreView.pick({ churnProbability: true, health: true, interval: true, confidence: true, drivers: true, imputed: true, scoredAt: true, tier: true }).extend({
  riskTier: z.string(),
  modelVersion: z.string(),
  source: z.string().describe("What produced the score: api, batch, rescore, start"),
  expansion: ExpansionReadiness.nullable(),
});

/** A score computed now: the stored view's figures plus what only a fresh computation knows. */
export const ScoreResult = ScoreView.pick({ churnProbability: true, health: true, riskTier: true, modelVersion: true, imputed: true, tier: true, scoredAt: true }).extend({
  churnProbability: z.number().min(0).max(1).describe("Calibrated probability that the account churns"),
  health: z.number().int().min(0).max(100).describe("round(100 × (1 − churnProbability)): 100 is healthiest"),
  interval: z
    .tuple([z.number(), z.number()])
    .describe("90% range for churnProbability: how precisely accounts scored like this one were observed to churn, out of fold"),
  confidence: Confidence.describe("high: interval narrower than 0.15 and every signal present; low: wider than 0.30, more than two signals imputed, or an unseen category"),
  drivers: z.array(Driver),
  modelVersion: z.string(),
  imputed: z.array(z.string()).describe("Features that were missing or null and were imputed"),
  unseenLevels: z.array(z.string()).describe("Categorical features whose value the model never saw in training"),
  baseValue: z.number().describe("SHAP base value (log-odds); baseValue + Σ contributions = margin"),
  margin: z.number().describe("The model's log-odds before calibration"),
  nextAction: z.string().nullable().describe("What a CSM should do next, from the driver that raises risk the most; null with drivers=0"),
  driversMethod: z.enum(["exact", "occlusion"]).describe("exact: linear SHAP or TreeSHAP; occlusion: MLP, signal reset to the average"),
  expansion: ExpansionReadiness,
  accountId: z.string().optional(),
});
