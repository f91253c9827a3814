/**
 * Shadow models (champion/challenger): `POST /v1/models/{version}/shadow` makes a candidate churn
 * model the shadow, scored in every rescoring run beside the active one into `shadow_scores`
 * and never tiered or notified; `DELETE` stops that; `GET /v1/models/{version}/comparison`
 * compares it with the active model on the accounts both scored in the latest run.
 * Promotion is `POST /v1/models/{version}/activate`.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import type { RiskTier as Tier } from "../../shared/tiers";
import { fetchArtifact } from "../../shared/db/registry";
import { type ComparedAccount, compareModels, type OutcomeRow, outcomeLabel } from "../monitoring/policy";
import { scorerForVersion } from "../scoring/model-cache";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import type { SqlPick } from "../../shared/db/rows";
import type { accounts, outcomes as outcomesTable, rescoreRuns, shadowScores } from "../../shared/db/schema";
import { bearer, problems } from "../http/schemas";
import { RiskTier } from "../scoring/schemas";
import { requireModelRow, VersionParam } from "./models";

export const ShadowSet = z.object({
  version: z.string(),
  status: z.literal("shadow"),
  active: z.string().nullable().describe("The active churn model it will be scored beside"),
  previous: z.string().nullable().describe("The shadow model it replaces (back to candidate), if any"),
});

export class SetShadow extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Run a candidate churn model in shadow beside the active one",
    description:
      "Checks the artifact in R2 against its sha256, then makes this churn model the shadow: every rescoring run also scores each account with it, into shadow scores that are never tiered, stored as current scores or sent as events. One shadow at a time: a previous shadow goes back to candidate. The active model cannot be the shadow (409). Idempotent.",
    security: bearer,
    request: { params: VersionParam },
    responses: { "200": { description: "Now the shadow model", ...contentJson(ShadowSet) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const row = await requireModelRow(c.env.DB, params.version);
    if (row.target !== "churn") throw new Problem(422, "validation-error", `${row.version} is an ${row.target} model; only churn models run in shadow.`, [{ field: "version", detail: "not a churn model" }]);
    if (row.status === "active") throw new Problem(409, "model-active", `${row.version} is the active model; a shadow is a candidate to compare with it.`, [{ field: "version", detail: "is active" }]);
    try {
      await fetchArtifact(c.env, row);
    } catch (e) {
      throw new Problem(409, "artifact-integrity", `Refusing to shadow ${row.version}: ${(e as Error).message}.`, [{ field: "version", detail: "artifact missing or altered in R2" }]);
    }
    const [previous, active] = await c.env.DB.batch([
      c.env.DB.prepare("UPDATE models SET status = 'candidate' WHERE target = 'churn' AND status = 'shadow' AND version <> ?1 RETURNING version").bind(row.version),
      c.env.DB.prepare("SELECT version FROM models WHERE target = 'churn' AND status = 'active' ORDER BY activated_at DESC LIMIT 1"),
      c.env.DB.prepare("UPDATE models SET status = 'shadow' WHERE version = ?1").bind(row.version),
    ]);
    return {
      version: row.version,
      status: "shadow" as const,
      active: (active.results[0] as { version: string } | undefined)?.version ?? null,
      previous: (previous.results[0] as { version: string } | undefined)?.version ?? null,
    };
  }
}

export class StopShadow extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Stop running a model in shadow",
    description: "The shadow model goes back to candidate; rescoring runs started from now on score no shadow. Its shadow scores and comparison stay readable. 409 if it is not the shadow.",
    security: bearer,
    request: { params: VersionParam },
    responses: { "200": { description: "Back to candidate", ...contentJson(z.object({ version: z.string(), status: z.literal("candidate") })) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const row = await requireModelRow(c.env.DB, params.version);
    if (row.status !== "shadow") throw new Problem(409, "not-shadow", `${row.version} is ${row.status}, not the shadow model.`, [{ field: "version", detail: `status is ${row.status}` }]);
    await c.env.DB.prepare("UPDATE models SET status = 'candidate' WHERE version = ?1 AND status = 'shadow'").bind(row.version).run();
    return { version: row.version, status: "candidate" as const };
  }
}

const Side = z.object({ churnProbability: z.number(), riskTier: RiskTier });
const TierRow = z.object({ red: z.number().int(), yellow: z.number().int(), green: z.number().int() });

export const ComparisonReport = z.object({
  shadowVersion: z.string(),
  activeVersion: z.string().describe("The model the run tiered with"),
  runId: z.string().describe("The latest completed rescoring run that scored this shadow"),
  runFinishedAt: z.string().nullable(),
  thresholds: z.object({ active: z.object({ red: z.number(), yellow: z.number() }), shadow: z.object({ red: z.number(), yellow: z.number() }) }),
  accounts: z.number().int().describe("Accounts scored by both models in that run"),
  meanAbsDelta: z.number().nullable().describe("Mean |shadow − active| churn probability"),
  meanDelta: z.number().nullable().describe("Mean shadow − active: positive when the shadow scores higher"),
  spearman: z.number().nullable().describe("Spearman rank correlation of the two models' probabilities"),
  tierAgreement: z.object({
    share: z.number().nullable().describe("Accounts whose shadow tier (under the shadow's own thresholds) equals the active tier"),
    matrix: z.object({ red: TierRow, yellow: TierRow, green: TierRow }).describe("Rows: the active model's tier; columns: the shadow's"),
  }),
  biggestMovers: z.array(z.object({ accountId: z.string(), name: z.string().nullable(), delta: z.number(), active: Side, shadow: Side })).describe("Largest |shadow − active| first"),
  outcomes: z.object({
    horizonDays: z.number().int(),
    known: z.number().int().describe("Compared accounts whose outcome is known: churned within the horizon after the run, or the horizon has passed"),
    positives: z.number().int(),
    activeAuc: z.number().nullable(),
    shadowAuc: z.number().nullable(),
    note: z.string().nullable(),
  }),
  summary: z.string(),
});

/** Accounts read per page of shadow scores. */
const PAGE = 5000;

export class ModelComparison extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Compare a shadow model with the active one",
    description:
      "On the accounts scored by both models in the latest completed rescoring run that scored this shadow: accounts compared, mean |Δp|, the tier agreement matrix (the shadow's own thresholds against the active model's tiers in that run), Spearman rank correlation, the biggest movers, and, where outcomes are known under the horizon rule of GET .../performance, the ROC-AUC of both. 409 before any run has scored it.",
    security: bearer,
    request: {
      params: VersionParam,
      query: z.object({ movers: z.coerce.number().int().min(0).max(100).optional().describe("Biggest movers to list, default 10") }),
    },
    responses: { "200": { description: "The comparison report", ...contentJson(ComparisonReport) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    const model = await requireModelRow(c.env.DB, params.version);
    const run = await c.env.DB.prepare(
      `SELECT r.id, r.model_version, r.finished_at FROM rescore_runs r
       WHERE r.shadow_version = ?1 AND r.status = 'completed' AND EXISTS (SELECT 1 FROM shadow_scores s WHERE s.model_version = ?1 AND s.run_id = r.id)
       ORDER BY r.finished_at DESC, r.created_at DESC LIMIT 1`,
    )
      .bind(model.version)
      .first<SqlPick<typeof rescoreRuns, "id" | "finished_at"> & { model_version: string }>();
    if (!run) {
      throw new Problem(409, "no-shadow-scores", `No completed rescoring run has scored ${model.version} as the shadow model yet. Make it the shadow (POST /v1/models/${model.version}/shadow) and start a run (POST /v1/rescore).`, [
        { field: "version", detail: "no shadow scores" },
      ]);
    }
    const [shadow, active] = await Promise.all([scorerForVersion(c.env, model.version), scorerForVersion(c.env, run.model_version)]);
    const horizonDays = active.artifact.horizonDays ?? DEFAULT_HORIZON_DAYS;
    const now = new Date();
    const rows: ComparedAccount[] = [];
    let after = "";
    for (;;) {
      const page = await c.env.DB.prepare(
        `SELECT s.account_id, s.churn_probability AS shadow_p, s.scored_at, sc.churn_probability AS active_p, sc.risk_tier AS active_tier, a.name
         FROM shadow_scores s
         JOIN scores sc ON sc.run_id = s.run_id AND sc.account_id = s.account_id
         LEFT JOIN accounts a ON a.id = s.account_id
         WHERE s.run_id = ?1 AND s.model_version = ?2 AND s.account_id > ?3
         ORDER BY s.account_id LIMIT ?4`,
      )
        .bind(run.id, model.version, after, PAGE)
        .all<SqlPick<typeof shadowScores, "account_id" | "scored_at"> & SqlPick<typeof accounts, "name"> & { shadow_p: number; active_p: number; active_tier: Tier }>();
      const list = page.results;
      if (list.length === 0) break;
      const outcomes = new Map<string, OutcomeRow[]>();
      const found = await c.env.DB.prepare("SELECT account_id, type, date FROM outcomes WHERE account_id >= ?1 AND account_id <= ?2")
        .bind(list[0].account_id, list[list.length - 1].account_id)
        .all<SqlPick<typeof outcomesTable, "account_id" | "type" | "date">>();
      for (const o of found.results) outcomes.set(o.account_id, [...(outcomes.get(o.account_id) ?? []), { type: o.type, date: o.date }]);
      for (const r of list) {
        const label = outcomeLabel(r.scored_at, horizonDays, outcomes.get(r.account_id) ?? [], now);
        rows.push({ accountId: r.account_id, name: r.name, activeProbability: r.active_p, activeTier: r.active_tier, shadowProbability: r.shadow_p, label: label === 0 || label === 1 ? label : null });
      }
      if (list.length < PAGE) break;
      after = list[list.length - 1].account_id;
    }
    const report = compareModels(rows, shadow.artifact.tiers, query.movers ?? 10);
    const m = report.tierAgreement.matrix;
    const auc = report.outcomes.activeAuc !== null ? ` ROC-AUC where outcomes are known (${report.outcomes.known}): active ${report.outcomes.activeAuc.toFixed(3)}, shadow ${report.outcomes.shadowAuc?.toFixed(3)}.` : "";
    return {
      shadowVersion: model.version,
      activeVersion: run.model_version,
      runId: run.id,
      runFinishedAt: run.finished_at,
      thresholds: { active: active.artifact.tiers, shadow: shadow.artifact.tiers },
      ...report,
      outcomes: { horizonDays, ...report.outcomes },
      summary:
        report.accounts === 0
          ? "No account was scored by both models in that run."
          : `On ${report.accounts} accounts, the shadow moves churn probability by ${((report.meanAbsDelta ?? 0) * 100).toFixed(1)} points on average (Spearman ${report.spearman?.toFixed(3) ?? "n/a"}); tiers agree for ${((report.tierAgreement.share ?? 0) * 100).toFixed(1)}%, with ${m.green.red + m.yellow.red} account(s) newly red and ${m.red.green + m.red.yellow} leaving red.${auc}`,
    };
  }
}
