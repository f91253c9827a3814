/** `POST /v1/rescore` starts a rescoring run; `GET /v1/rescore/{runId}` reports on it. */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import type { SqlRow } from "../../shared/db/rows";
import type { rescoreRuns } from "../../shared/db/schema";
import { startRun } from "./chunks";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { RunStarted, RunStatus } from "./schemas";


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
      .first<SqlRow<typeof rescoreRuns> & { chunk_scored: number; chunk_changes: number }>();
    if (!r) throw new Problem(404, "run-not-found", `No rescoring run '${params.runId}'.`, [{ field: "runId", detail: "no such run" }]);
    const started = r.started_at;
    const finished = r.finished_at;
    const durationMs = started && finished ? Date.parse(finished) - Date.parse(started) : null;
    const scored = r.status === "completed" ? Number(r.scored) : Number(r.chunk_scored);
    return {
      runId: r.id,
      status: r.status,
      trigger: r.trigger,
      modelVersion: r.model_version,
      shadowVersion: r.shadow_version,
      accounts: r.accounts,
      scored,
      tierChanges: r.status === "completed" ? r.tier_changes : r.chunk_changes,
      chunks: { total: r.chunks_total, done: r.chunks_done },
      createdAt: r.created_at,
      startedAt: started,
      finishedAt: finished,
      durationMs,
      accountsPerSecond: durationMs ? Math.round((scored / durationMs) * 1000 * 10) / 10 : null,
      error: r.error,
    };
  }
}
