/** `POST /v1/rescore` starts a rescoring run; `GET /v1/rescore/{runId}` reports on it. */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { startRun } from "./chunks";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";

export const RunStarted = z.object({
  runId: z.string(),
  status: z.enum(["running", "completed"]),
  accounts: z.number().int(),
  chunks: z.number().int().describe("Queue messages the run fans out into, 1,000 accounts each"),
  modelVersion: z.string(),
  shadowVersion: z.string().nullable(),
});

export class StartRescore extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Rescoring"],
    summary: "Rescore every account with the active model",
    description:
      "Starts a run and returns at once with its `runId` (202). The run fans out over the rescore queue in chunks of 1,000 accounts read by id range; each chunk appends scores to history, updates current scores and emits `account.risk_tier_changed` / `account.expansion_ready` events; the last one records the portfolio and emits `rescore.completed`. The daily cron (02:00 UTC) starts the same runs.",
    security: bearer,
    responses: { "202": { description: "Started", ...contentJson(RunStarted) }, ...problems(401, 403, 429, 503) },
  };

  override async handle(c: Context<AppEnv>) {
    const run = await startRun(c.env, "api");
    if (!run) throw new Problem(503, "no-active-model", "No churn model is active, so there is nothing to rescore with. Publish one with `npm run publish-model -- --activate`.");
    return c.json(run, 202);
  }
}

export const RunStatus = z.object({
  runId: z.string(),
  status: z.enum(["queued", "running", "completed", "failed"]),
  trigger: z.string().describe("api, cron or start"),
  modelVersion: z.string().nullable(),
  shadowVersion: z.string().nullable(),
  accounts: z.number().int().describe("Accounts when the run started"),
  scored: z.number().int(),
  tierChanges: z.number().int(),
  chunks: z.object({ total: z.number().int(), done: z.number().int() }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  accountsPerSecond: z.number().nullable(),
  error: z.string().nullable(),
});

export class GetRescore extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Rescoring"],
    summary: "A rescoring run's status, counts and timings",
    security: bearer,
    request: { params: z.object({ runId: z.string().regex(/^run_[A-Za-z0-9_]{1,80}$/, "is not a run id") }) },
    responses: { "200": { description: "The run", ...contentJson(RunStatus) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const r = await c.env.DB.prepare(
      `SELECT r.*, (SELECT coalesce(sum(scored), 0) FROM rescore_chunks WHERE run_id = r.id) AS chunk_scored,
              (SELECT coalesce(sum(tier_changes), 0) FROM rescore_chunks WHERE run_id = r.id) AS chunk_changes
       FROM rescore_runs r WHERE r.id = ?1`,
    )
      .bind(params.runId)
      .first<Record<string, unknown>>();
    if (!r) throw new Problem(404, "run-not-found", `No rescoring run '${params.runId}'.`, [{ field: "runId", detail: "no such run" }]);
    const started = r.started_at as string | null;
    const finished = r.finished_at as string | null;
    const durationMs = started && finished ? Date.parse(finished) - Date.parse(started) : null;
    const scored = r.status === "completed" ? Number(r.scored) : Number(r.chunk_scored);
    return {
      runId: r.id as string,
      status: r.status as "queued" | "running" | "completed" | "failed",
      trigger: r.trigger as string,
      modelVersion: (r.model_version as string | null) ?? null,
      shadowVersion: (r.shadow_version as string | null) ?? null,
      accounts: Number(r.accounts),
      scored,
      tierChanges: r.status === "completed" ? Number(r.tier_changes) : Number(r.chunk_changes),
      chunks: { total: Number(r.chunks_total), done: Number(r.chunks_done) },
      createdAt: r.created_at as string,
      startedAt: started,
      finishedAt: finished,
      durationMs,
      accountsPerSecond: durationMs ? Math.round((scored / durationMs) * 1000 * 10) / 10 : null,
      error: (r.error as string | null) ?? null,
    };
  }
}
