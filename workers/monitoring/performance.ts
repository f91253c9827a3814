/**
 * `GET /v1/models/{version}/performance`: a churn model's accuracy and drift over time (newest
 * first, the latest summarised); `POST /v1/models/{version}/performance/compute`: compute them
 * now instead of waiting for the daily cron. The computation lives in `workers/monitoring/job.ts`.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { desc, eq } from "drizzle-orm";
import { createSelectSchema } from "drizzle-zod";
import type { Context } from "hono";
import { z } from "zod";
import { CalibrationBin, modelPerformance } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { MIN_DRIFT_ACCOUNTS, MIN_EVALUABLE_SCORES, PRECISION_ALERT, PSI_ALERT } from "./policy";
import { type PerformanceEntry as Entry, runMonitoring } from "./job";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { ModelStatus, requireModelRow, VersionParam } from "../models/models";

const row = createSelectSchema(modelPerformance);

export const PerformanceEntry = row
  .pick({ id: true, modelVersion: true, computedAt: true, scoresEvaluated: true, positives: true, horizonDays: true, redThreshold: true, driftAccounts: true })
  .extend({
    modelStatus: ModelStatus.nullable().describe("The version's status when this was computed"),
    auc: z.number().nullable().describe("ROC-AUC of the evaluated scores against their outcomes"),
    precisionAtRed: z.number().nullable().describe("Share of evaluated red scores (p ≥ redThreshold) whose account churned within the horizon"),
    recallAtRed: z.number().nullable().describe("Share of churners whose score was red"),
    f1AtRed: z.number().nullable(),
    brier: z.number().nullable().describe("Mean squared error of the probabilities"),
    calibration: z.array(CalibrationBin).nullable().describe("Reliability table over 10 equal-width probability bins (empty bins left out)"),
    featurePsi: z.record(z.string(), z.number()).nullable().describe("Population stability index of each signal: live accounts' current signals against the training reference"),
    maxFeaturePsi: z.number().nullable(),
    predictionPsi: z.number().nullable().describe("PSI of the version's probabilities for the live accounts against its calibrated out-of-fold probabilities"),
    alerts: z.array(z.string()).describe("model.performance_degraded and/or model.drift_detected when their thresholds were crossed"),
    notes: z.array(z.string()).describe("Why any figure is null, and what was left out"),
  });

export const PerformanceSeries = z.object({
  version: z.string(),
  status: ModelStatus,
  thresholds: z.object({
    precisionAtRed: z.number().describe(`model.performance_degraded below this (${PRECISION_ALERT})`),
    psi: z.number().describe(`model.drift_detected above this, for any signal or the predictions (${PSI_ALERT})`),
    minEvaluableScores: z.number().int(),
    minDriftAccounts: z.number().int(),
  }),
  latest: PerformanceEntry.extend({
    summary: z.string().describe("The latest figures in a sentence"),
    topDrift: z.array(z.object({ feature: z.string(), psi: z.number() })).describe("The five signals with the largest PSI"),
  })
    .nullable()
    .describe("The newest computation, summarised; null before the first"),
  series: z.array(PerformanceEntry).describe("Computations, newest first"),
});

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The latest computation in a sentence a CS lead can read. */
export function summarise(e: Entry): string {
  const parts: string[] = [];
  if (e.auc !== null || e.precisionAtRed !== null) {
    parts.push(
      `On ${e.scoresEvaluated} scores older than ${e.horizonDays} days (${e.positives} churned): ROC-AUC ${e.auc?.toFixed(3) ?? "n/a"}, precision at red ${e.precisionAtRed === null ? "n/a" : pct(e.precisionAtRed)}, recall ${e.recallAtRed === null ? "n/a" : pct(e.recallAtRed)}, Brier ${e.brier?.toFixed(4) ?? "n/a"}.`,
    );
  } else parts.push(`No accuracy figures yet (${e.scoresEvaluated} evaluable scores).`);
  if (e.maxFeaturePsi !== null) {
    const top = Object.entries(e.featurePsi ?? {}).sort((a, b) => b[1] - a[1])[0];
    parts.push(`Drift on ${e.driftAccounts} live accounts: largest signal PSI ${e.maxFeaturePsi.toFixed(3)}${top ? ` (${top[0]})` : ""}, prediction PSI ${e.predictionPsi?.toFixed(3) ?? "n/a"}.`);
  } else parts.push("No drift figures.");
  parts.push(e.alerts.length ? `Alerts: ${e.alerts.join(", ")}.` : "No alerts.");
  return parts.join(" ");
}

export class GetPerformance extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "A churn model's accuracy and drift over time",
    description:
      "One entry per computation (the daily cron at 03:17 UTC, or POST .../performance/compute), newest first. Accuracy: each account's earliest score by this version whose horizon (the model's `horizonDays`, 90 by default) has passed is labelled 1 if a `churned` outcome falls in (score day, score day + horizon], else 0; accounts already churned when scored are left out. With fewer than 50 such scores or no churner among them the figures are null and `notes` says why. Drift: PSI of the live accounts' current signals, and of this version's probabilities for them, against the training reference in the artifact.",
    security: bearer,
    request: {
      params: VersionParam,
      query: z.object({ limit: z.coerce.number().int().min(1).max(365).optional().describe("Entries to return, default 30, at most 365") }),
    },
    responses: { "200": { description: "The time series", ...contentJson(PerformanceSeries) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    const model = await requireModelRow(c.env.DB, params.version);
    const rows = await db(c.env.DB)
      .select()
      .from(modelPerformance)
      .where(eq(modelPerformance.modelVersion, model.version))
      .orderBy(desc(modelPerformance.computedAt), desc(modelPerformance.id))
      .limit(query.limit ?? 30);
    const series: Entry[] = rows;
    const newest = series[0];
    return {
      version: model.version,
      status: model.status,
      thresholds: { precisionAtRed: PRECISION_ALERT, psi: PSI_ALERT, minEvaluableScores: MIN_EVALUABLE_SCORES, minDriftAccounts: MIN_DRIFT_ACCOUNTS },
      latest: newest
        ? {
            ...newest,
            summary: summarise(newest),
            topDrift: Object.entries(newest.featurePsi ?? {})
              .sort((a, b) => b[1] - a[1])
              .slice(0, 5)
              .map(([feature, psi]) => ({ feature, psi })),
          }
        : null,
      series,
    };
  }
}

export const Computed = z.object({
  performance: PerformanceEntry,
  events: z.array(z.string()).describe("Ids of the alert events this computation emitted (an alert already sent today keeps its id and is not sent again)"),
});

export class ComputePerformance extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Compute a churn model's accuracy and drift now",
    description:
      "Runs the daily monitoring for this version at once and stores the result as a new entry of its time series (201). For the active model, alerts become `model.performance_degraded` / `model.drift_detected` events and webhook deliveries, once per version, type and day.",
    security: bearer,
    request: { params: VersionParam },
    responses: { "201": { description: "Computed and stored", ...contentJson(Computed) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const model = await requireModelRow(c.env.DB, params.version);
    if (model.target !== "churn") throw new Problem(422, "validation-error", `${model.version} is an ${model.target} model; monitoring covers churn models.`, [{ field: "version", detail: "not a churn model" }]);
    const [result] = await runMonitoring(c.env, { versions: [model.version] });
    return c.json(result, 201);
  }
}
