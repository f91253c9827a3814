/**
 * Scoring a request's signals or a stored account with the active model, and persisting scores.
 * Shared by the scoring routes; pure of HTTP except for the problems it raises.
 */
import { desc, eq } from "drizzle-orm";
import type { z } from "zod";
import { scores } from "../../shared/db/schema";
import { db, runBatch } from "../../shared/db/write";
import { insertScoreStatements, toScoreWrite } from "../../shared/db/scores";
import { type ActiveModels, type Assessment, assess } from "../../shared/cs/assess";
import { checkFeatures, type FieldError } from "../../shared/model/features";
import type { Scorer } from "../../shared/model/scorer";
import { healthOf } from "../../shared/cs/trajectory";
import { loadAccount, notFound } from "../accounts/store";
import { invalid } from "../http/problem";
import { type LatestScore, storedExpansion, toScoreView } from "./schemas";

/** Checks signals against the model's feature spec; a 422 naming every bad field. */
export function assertFeatures(scorer: Scorer | undefined, features: Record<string, unknown>, path: string): void {
  if (!scorer) return;
  const errors = featureErrors(scorer, features, path);
  if (errors.length) throw invalid(`${errors.length} feature(s) do not fit model ${scorer.artifact.version}.`, errors);
}

export function featureErrors(scorer: Scorer | undefined, features: Record<string, unknown>, path: string): FieldError[] {
  return scorer ? checkFeatures(scorer.artifact.features, features, path) : [];
}

/** Scores a stored account and appends the score to its history. */
export async function scoreAccount(env: Env, models: ActiveModels, id: string, maxDrivers = 10, source = "api") {
  const account = await loadAccount(env, id);
  if (!account) throw notFound(id);
  const a = assess(models, account.features, maxDrivers);
  const scoredAt = new Date().toISOString();
  await runBatch(db(env.DB), insertScoreStatements(db(env.DB), [toScoreWrite(id, a, source, scoredAt)]));
  return scoreResult(a, scoredAt, id);
}

/** An assessment as the API answers it (`ScoreResult`): the churn score plus tier and expansion readiness. */
export function scoreResult(a: Assessment, scoredAt: string, accountId?: string) {
  const { expansion } = a;
  return {
    ...a.score,
    health: healthOf(a.score.churnProbability),
    ...(accountId !== undefined ? { accountId } : {}),
    tier: a.tier,
    expansion: { expansionReady: expansion.expansionReady, expansionProbability: expansion.expansionProbability, reason: expansion.reason, source: expansion.source, modelVersion: expansion.modelVersion },
    scoredAt,
  };
}

/** An account's latest score as `GET /v1/accounts/{id}` shows it, or null before its first. */
export async function latestScore(env: Env, accountId: string): Promise<z.infer<typeof LatestScore> | null> {
  const row = await db(env.DB).select().from(scores).where(eq(scores.accountId, accountId)).orderBy(desc(scores.id)).limit(1).get();
  if (!row) return null;
  const { churnProbability, health, interval, confidence, riskTier, drivers, imputed, modelVersion, scoredAt, source, tier } = toScoreView(row);
  return { churnProbability, health, interval, confidence, riskTier, drivers, imputed, modelVersion, scoredAt, source, tier, expansion: storedExpansion(row) };
}
