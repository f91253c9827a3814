/**
 * Scoring a request's signals or a stored account with the active model, and persisting scores.
 * Shared by the scoring routes; pure of HTTP except for the problems it raises.
 */
import { desc, eq } from "drizzle-orm";
import { accounts, scores } from "../../shared/db/schema";
import { db, insertScoreStatements, runBatch, toScoreWrite } from "../../shared/db/write";
import { type ActiveModels, type Assessment, assess } from "../../shared/model/assess";
import { checkFeatures, type FieldError } from "../../shared/model/features";
import type { Scorer } from "../../shared/model/scorer";
import { invalid, Problem } from "../http/problem";

/** Checks signals against the model's feature spec; a 422 naming every bad field. */
export function assertFeatures(scorer: Scorer | undefined, features: Record<string, unknown>, path: string): void {
  if (!scorer) return;
  const errors = featureErrors(scorer, features, path);
  if (errors.length) throw invalid(`${errors.length} feature(s) do not fit model ${scorer.artifact.version}.`, errors);
}

export function featureErrors(scorer: Scorer | undefined, features: Record<string, unknown>, path: string): FieldError[] {
  return scorer ? checkFeatures(scorer.artifact.features, features, path) : [];
}

export async function loadAccount(env: Env, id: string) {
  return db(env.DB).select().from(accounts).where(eq(accounts.id, id)).get();
}

export function notFound(id: string, field = "accountId"): Problem {
  return new Problem(404, "account-not-found", `No account with id '${id}'.`, [{ field, detail: "no such account" }]);
}

/** Scores a stored account and appends the score to its history. */
export async function scoreAccount(env: Env, models: ActiveModels, id: string, maxDrivers = 10, source = "api") {
  const account = await loadAccount(env, id);
  if (!account) throw notFound(id);
  const a = assess(models, account.features, maxDrivers);
  const scoredAt = new Date().toISOString();
  await runBatch(db(env.DB), insertScoreStatements(db(env.DB), [toScoreWrite(id, a, source, scoredAt)]));
  return scoreView(a, scoredAt, id);
}

/** The API's view of an assessment: the churn score plus tier and expansion readiness. */
export function scoreView(a: Assessment, scoredAt: string, accountId?: string) {
  const { expansion } = a;
  return {
    ...a.score,
    ...(accountId !== undefined ? { accountId } : {}),
    tier: a.tier,
    expansion: { expansionReady: expansion.expansionReady, expansionProbability: expansion.expansionProbability, reason: expansion.reason, source: expansion.source, modelVersion: expansion.modelVersion },
    scoredAt,
  };
}


export async function latestScore(env: Env, accountId: string) {
  const row = await db(env.DB).select().from(scores).where(eq(scores.accountId, accountId)).orderBy(desc(scores.id)).limit(1).get();
  if (!row) return null;
  return {
    churnProbability: row.churnProbability,
    interval: row.intervalLow != null && row.intervalHigh != null ? ([row.intervalLow, row.intervalHigh] as [number, number]) : null,
    confidence: row.confidence as "high" | "medium" | "low" | null,
    riskTier: row.riskTier,
    drivers: row.drivers,
    imputed: row.imputed,
    modelVersion: row.modelVersion,
    scoredAt: row.scoredAt,
    source: row.source,
    tier: row.tier ?? row.riskTier,
    expansion:
      row.expansionProbability == null
        ? null
        : { expansionReady: !!row.expansionReady, expansionProbability: row.expansionProbability, reason: row.expansionReason ?? "", source: row.expansionSource ?? "scorecard", modelVersion: row.expansionVersion ?? null },
  };
}

