/**
 * `POST /v1/score` (one account) and `POST /v1/score/batch` (up to 1,000): churn probability,
 * tiers, drivers and expansion readiness for raw signals or stored accounts.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { inArray } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { accounts } from "../../shared/db/schema";
import { db, runBatch } from "../../shared/db/write";
import { insertScoreStatements, type ScoreWrite, toScoreWrite } from "../../shared/db/scores";
import { assess } from "../../shared/cs/assess";
import type { FieldError } from "../../shared/model/features";
import { requireModels } from "./model-cache";
import type { AppEnv } from "../http/auth";
import { fieldPath, invalid } from "../http/problem";
import { AccountId, bearer, Features, ProblemDetails, problems } from "../http/schemas";
import { ScoreResult } from "./schemas";
import { assertFeatures, featureErrors, scoreAccount, scoreResult } from "./scoring";

/** Drivers kept with every stored score. */
const STORED_DRIVERS = 10;

/** Most rows one batch request may carry. */
export const MAX_SCORE_BATCH = 1000;

export const ScoreRequest = z
  .strictObject({
    features: Features.optional(),
    accountId: AccountId.optional(),
  })
  .describe("Either `features` (score these signals) or `accountId` (score the stored account and keep the score in its history)");

const Drivers = z
  .union([z.literal("all"), z.coerce.number().int().min(0).max(1000)])
  .optional()
  .describe("How many drivers to return, largest first, or `all`; 0 skips the explanation (no drivers, nextAction null) for speed");

function driverCount(v: number | "all" | undefined, fallback: number): number {
  return v === "all" ? Infinity : (v ?? fallback);
}

function exactlyOne(row: { features?: unknown; accountId?: unknown }, prefix: string): FieldError[] {
  const hasFeatures = row.features !== undefined;
  if (hasFeatures === (row.accountId !== undefined)) return [{ field: `${prefix}${hasFeatures ? "accountId" : "features"}`, detail: "send exactly one of features or accountId" }];
  return [];
}

export class ScoreRoute extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Scoring"],
    summary: "Score one account",
    description:
      "Returns the churn probability, the risk tier under the model's thresholds, signed drivers in your column names (exact SHAP, log-odds), the features that were imputed, the portfolio tier and expansion readiness. Scoring by `accountId` appends to the account's score history and updates its current score; scoring raw `features` stores nothing.",
    security: bearer,
    request: {
      query: z.object({ drivers: Drivers }),
      body: contentJson(ScoreRequest),
    },
    responses: {
      "200": { description: "The score", ...contentJson(ScoreResult) },
      ...problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { body, query } = await this.getValidatedData<typeof this.schema>();
    const maxDrivers = driverCount(query.drivers, 10);
    const errors = exactlyOne(body, "");
    if (errors.length) throw invalid("Send exactly one of `features` or `accountId`.", errors);
    const models = await requireModels(c.env);
    if (body.accountId !== undefined) return scoreAccount(c.env, models, body.accountId, maxDrivers);
    assertFeatures(models.churn, body.features!, "features");
    return scoreResult(assess(models, body.features!, maxDrivers), new Date().toISOString());
  }
}

const ACCOUNT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * The batch row shape (`ScoreRequest`) checked by hand: the same rules and messages' substance
 * as the Zod schema, at a small fraction of its cost on 1,000 rows (the hot path of a batch).
 * Feature values are then checked against the model's own spec by `featureErrors`.
 */
function checkRow(row: unknown, i: number): z.infer<typeof ScoreRequest> | { errors: FieldError[] } {
  const at = `rows[${i}]`;
  if (typeof row !== "object" || row === null || Array.isArray(row)) return { errors: [{ field: at, detail: "must be an object with features or accountId" }] };
  const errors: FieldError[] = [];
  const r = row as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== "features" && k !== "accountId") errors.push({ field: `${at}.${k}`, detail: "unknown field; send features or accountId" });
  if (r.accountId !== undefined && (typeof r.accountId !== "string" || !ACCOUNT_ID.test(r.accountId))) {
    errors.push({ field: `${at}.accountId`, detail: "must be 1-128 characters of letters, digits and . _ : @ -" });
  }
  const f = r.features;
  if (f !== undefined) {
    if (typeof f !== "object" || f === null || Array.isArray(f)) errors.push({ field: `${at}.features`, detail: "must be an object of signals" });
    else {
      for (const [name, v] of Object.entries(f)) {
        const field = `${at}.features.${name}`;
        if (name.length === 0 || name.length > 200) errors.push({ field, detail: "signal names must be 1-200 characters" });
        else if (typeof v === "string" ? v.length > 1000 : !(v === null || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v)))) {
          errors.push({ field, detail: "must be a number, a string of at most 1000 characters, a boolean or null" });
        }
      }
    }
  }
  return errors.length ? { errors } : (r as z.infer<typeof ScoreRequest>);
}

export const BatchRequest = z.object({
  rows: z.array(ScoreRequest).min(1).max(MAX_SCORE_BATCH, `at most ${MAX_SCORE_BATCH} rows per batch`),
});

const RowError = z.object({ index: z.number(), error: ProblemDetails });

export const BatchResponse = z.object({
  results: z
    .array(z.union([ScoreResult, RowError]))
    .describe("One entry per row, in request order: a score, or (with partial=true) `{index, error}` for a row that could not be scored"),
  scored: z.number(),
  failed: z.number(),
  modelVersion: z.string(),
});

export class ScoreBatchRoute extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Scoring"],
    summary: "Score up to 1,000 accounts in one call",
    description: `Each row is \`{"features": {...}}\` or \`{"accountId": "..."}\`; results come back in the same order. By default the request is all or nothing: if any row is invalid (wrong shape, signals that do not fit the model, unknown account), the answer is 422 with \`errors[]\` naming every bad row as \`rows[i]...\`, and nothing is scored or stored. With \`?partial=true\`, valid rows are scored and each bad row's entry is \`{index, error}\` holding a problem object. Rows with \`accountId\` are appended to the account's score history. Drivers default to 0 here (skipped, for speed); ask for \`?drivers=3\` to get the top three. At most ${MAX_SCORE_BATCH} rows; more is 422.`,
    security: bearer,
    request: {
      query: z.object({
        partial: z.enum(["true", "false"]).optional().describe("true: score the valid rows and report each bad one in place"),
        drivers: Drivers,
      }),
      body: contentJson(BatchRequest),
    },
    responses: {
      "200": { description: "One result per row, in order", ...contentJson(BatchResponse) },
      ...problems(400, 401, 403, 413, 415, 422, 429, 503),
    },
  };

  override async handle(c: Context<AppEnv>) {
    // The body is checked row by row here rather than by chanfana, so that with partial=true
    // one malformed row does not sink the others.
    const query = z.object({ partial: z.enum(["true", "false"]).optional(), drivers: Drivers }).safeParse(c.req.query());
    if (!query.success) throw invalid("Invalid query parameters.", query.error.issues.map((i) => ({ field: fieldPath(["query", ...i.path]), detail: i.message })));
    const partial = query.data.partial === "true";
    const maxDrivers = driverCount(query.data.drivers, 0);
    const raw = (await c.req.json()) as unknown;
    const envelope = z.object({ rows: z.array(z.unknown()).min(1).max(MAX_SCORE_BATCH, `at most ${MAX_SCORE_BATCH} rows per batch`) }).safeParse(raw);
    if (!envelope.success) throw invalid("The batch is not valid.", envelope.error.issues.map((i) => ({ field: fieldPath(i.path), detail: i.message })));

    const models = await requireModels(c.env);
    const rows = envelope.data.rows;
    const errors: FieldError[][] = rows.map(() => []);
    const parsed = rows.map((row, i) => {
      const r = checkRow(row, i);
      if ("errors" in r) {
        errors[i].push(...r.errors);
        return null;
      }
      errors[i].push(...exactlyOne(r, `rows[${i}].`));
      if (r.features) errors[i].push(...featureErrors(models.churn, r.features, `rows[${i}].features`));
      return r;
    });

    // Stored accounts, read in chunks of 100 ids (D1's bound-parameter limit).
    const ids = [...new Set(parsed.flatMap((r, i) => (r?.accountId && errors[i].length === 0 ? [r.accountId] : [])))];
    const d = db(c.env.DB);
    const stored = new Map<string, Record<string, unknown>>();
    for (let k = 0; k < ids.length; k += 100) {
      const found = await d.select({ id: accounts.id, features: accounts.features }).from(accounts).where(inArray(accounts.id, ids.slice(k, k + 100)));
      for (const a of found) stored.set(a.id, a.features);
    }
    parsed.forEach((r, i) => {
      if (r?.accountId && errors[i].length === 0 && !stored.has(r.accountId)) errors[i].push({ field: `rows[${i}].accountId`, detail: `no account with id '${r.accountId}'` });
    });

    const bad = errors.flatMap((e, i) => (e.length ? [i] : []));
    if (bad.length && !partial) {
      throw invalid(`${bad.length} row(s) are invalid; nothing was scored. Send ?partial=true to score the valid rows anyway.`, errors.flat());
    }

    const scoredAt = new Date().toISOString();
    const writes: ScoreWrite[] = [];
    let scored = 0;
    const results = parsed.map((r, i) => {
      if (errors[i].length || !r) {
        const p = errors[i].some((e) => e.detail.startsWith("no account")) && errors[i].length === 1 ? 404 : 422;
        return { index: i, error: { type: p === 404 ? "/problems/account-not-found" : "/problems/validation-error", title: p === 404 ? "Not Found" : "Unprocessable Content", status: p, detail: errors[i].map((e) => `${e.field}: ${e.detail}`).join("; "), errors: errors[i] } };
      }
      scored++;
      if (r.accountId === undefined) return scoreResult(assess(models, r.features!, maxDrivers), scoredAt);
      // A stored score keeps its drivers (the worklist and history show them), whatever the
      // response asks for; the response is trimmed to the requested count.
      const a = assess(models, stored.get(r.accountId) as Record<string, never>, Math.max(maxDrivers, STORED_DRIVERS));
      writes.push(toScoreWrite(r.accountId, a, "batch", scoredAt));
      const view = scoreResult(a, scoredAt, r.accountId);
      return maxDrivers > 0 ? { ...view, drivers: view.drivers.slice(0, maxDrivers) } : { ...view, drivers: [], nextAction: null };
    });
    if (writes.length) await runBatch(d, insertScoreStatements(d, writes));
    return { results, scored, failed: bad.length, modelVersion: models.churn.artifact.version };
  }
}
