/**
 * Batch rescoring. A run (from the cron or `POST /v1/rescore`) splits the accounts into id ranges
 * and fans them out over the rescore queue; each consumer scores its range with the run's model,
 * appends the scores to history, updates each account's current score, and records events for
 * tier changes, all in D1 transactions of a few hundred accounts.
 *
 * Resumable and idempotent: an account already scored in this run (a retry after a crash part
 * way through a chunk) is skipped, `scores (run_id, account_id)` is unique, event ids are derived
 * from the change, and a chunk is counted as finished once however often it is retried.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { newRunId, portfolioFigures } from "../../shared/db/portfolio";
import type { SqlPick } from "../../shared/db/rows";
import { type accounts, type models, type rescoreChunks, type rescoreRuns, type scores, shadowScores, type Signals } from "../../shared/db/schema";
import { type Db, db, jsonChunks, runBatch, toD1 } from "../../shared/db/write";
import { insertScoreStatements, type ScoreWrite, toScoreWrite } from "../../shared/db/scores";
import { type ActiveModels, type Assessment, assess } from "../../shared/cs/assess";
import type { Scorer } from "../../shared/model/scorer";
import type { HealthAt } from "../../shared/cs/trajectory";
import { activeScorer, activeTrajectoryModel, scorerForVersion } from "../scoring/model-cache";
import { historyStatements, rescoredTrajectory, snapshotsInRange, type TrajectoryColumns, trendEvent } from "../trajectories/rescore";
import { assignmentStatements, type NewAssignment } from "../playbooks/holdout";
import { leadDaysWith } from "../playbooks/policy";
import { chunkPlaybooks, heldOutNow, matchFor, playbookEntry } from "../playbooks/rescore";
import { leadDays, modelForecast, type TrajectoryFacts } from "../trajectories/trajectory";
import type { RunStarted } from "./schemas";
import { enqueuePendingDeliveries, eventId, eventStatements, type NewEvent } from "../webhooks/outbox";
import { exportAfterRun } from "../exports/queue";

/** Accounts per queue message, and per D1 transaction inside a message. */
export const CHUNK_SIZE = 1000;
const WRITE_SIZE = 250;

export interface RescoreMessage {
  runId: string;
  chunk: number;
  /** Tests only (honoured when ALLOW_FAULT_INJECTION is "true"): crash after the first write of the first attempt. */
  fault?: "crash-mid-chunk";
}


/**
 * Starts a run: records it with its chunks (id ranges) and queues one message per chunk.
 * Returns null when no churn model is active.
 */
export async function startRun(env: Env, trigger: string): Promise<RunStarted | null> {
  const active = await env.DB.prepare("SELECT version FROM models WHERE target = 'churn' AND status = 'active' ORDER BY activated_at DESC LIMIT 1").first<SqlPick<typeof models, "version">>();
  if (!active) return null;
  const shadow = await env.DB.prepare("SELECT version FROM models WHERE target = 'churn' AND status = 'shadow' ORDER BY created_at DESC LIMIT 1").first<SqlPick<typeof models, "version">>();
  // Every CHUNK_SIZE-th id starts a chunk: one pass over the primary key, whatever the size.
  const bounds = await env.DB.prepare(`SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM accounts) WHERE rn % ?1 = 0 ORDER BY id`)
    .bind(CHUNK_SIZE)
    .all<SqlPick<typeof accounts, "id">>();
  const starts = bounds.results.map((r) => r.id);
  const count = await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>();
  const runId = newRunId();
  const now = new Date().toISOString();
  const chunks = starts.map((from, i) => ({ r: runId, c: i, f: from, t: starts[i + 1] ?? null }));
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO rescore_runs (id, trigger, status, model_version, shadow_version, accounts, chunks_total, started_at) VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?7)`,
    ).bind(runId, trigger, active.version, shadow?.version ?? null, count?.n ?? 0, chunks.length, now),
    ...jsonChunks(chunks).map((json) =>
      env.DB.prepare(
        `INSERT INTO rescore_chunks (run_id, chunk, from_id, to_id) SELECT json_extract(value, '$.r'), json_extract(value, '$.c'), json_extract(value, '$.f'), json_extract(value, '$.t') FROM json_each(?1)`,
      ).bind(json),
    ),
  ]);
  for (let i = 0; i < chunks.length; i += 100) {
    await env.RESCORE_QUEUE.sendBatch(chunks.slice(i, i + 100).map((c) => ({ body: { runId, chunk: c.c } satisfies RescoreMessage, contentType: "json" as const })));
  }
  if (chunks.length === 0) await finishRun(env, runId);
  return { runId, status: chunks.length ? "running" : "completed", accounts: count?.n ?? 0, chunks: chunks.length, modelVersion: active.version, shadowVersion: shadow?.version ?? null };
}

type AccountRow = SqlPick<typeof accounts, "features" | "tier" | "churn_probability"> & TrajectoryColumns;

/** Scores one chunk; safe to call again for the same message (see the module comment). */
export async function processChunk(env: Env, msg: RescoreMessage, attempt = 1): Promise<"done" | "skipped"> {
  const run = await env.DB.prepare("SELECT status, model_version, shadow_version FROM rescore_runs WHERE id = ?1").bind(msg.runId).first<SqlPick<typeof rescoreRuns, "status" | "model_version" | "shadow_version">>();
  if (!run || run.status !== "running" || run.model_version === null) return "skipped";
  const chunk = await env.DB.prepare("SELECT from_id, to_id, status FROM rescore_chunks WHERE run_id = ?1 AND chunk = ?2").bind(msg.runId, msg.chunk).first<SqlPick<typeof rescoreChunks, "from_id" | "to_id" | "status">>();
  if (!chunk || chunk.status === "completed") return "skipped";
  await env.DB.prepare("UPDATE rescore_chunks SET attempts = attempts + 1 WHERE run_id = ?1 AND chunk = ?2").bind(msg.runId, msg.chunk).run();

  const models: ActiveModels = { churn: await scorerForVersion(env, run.model_version), expansion: await activeScorer(env, "expansion") };
  const shadow: Scorer | null = run.shadow_version ? await scorerForVersion(env, run.shadow_version).catch(() => null) : null;
  const range = chunk.to_id === null ? "id >= ?1" : "id >= ?1 AND id < ?2";
  const binds = chunk.to_id === null ? [chunk.from_id] : [chunk.from_id, chunk.to_id];
  const accounts = await env.DB.prepare(`SELECT id, name, arr, owner, features, risk_tier, tier, churn_probability, renewal_date, health_history, trend FROM accounts WHERE ${range} ORDER BY id`)
    .bind(...binds)
    .all<AccountRow>();
  // A retry skips what an earlier attempt already wrote. The upper bound is written out only when
  // there is one: SQLite cannot bound an index range by `(?2 IS NULL OR x < ?2)` and would scan to
  // the last account, which made chunk queries grow with the portfolio (bench:rescore).
  const below = (column: string, param: string) => (chunk.to_id === null ? "" : `AND ${column} < ${param}`);
  const done = await env.DB.prepare(`SELECT account_id FROM scores WHERE run_id = ?1 AND account_id >= ?2 ${below("account_id", "?3")}`)
    .bind(msg.runId, ...binds)
    .all<SqlPick<typeof scores, "account_id">>();
  const already = new Set(done.results.map((r) => r.account_id));
  const todo = accounts.results.filter((a) => !already.has(a.id));

  const d = db(env.DB);
  const scoredAt = new Date().toISOString();
  const lead = leadDays(env);
  const trajectoryModel = await activeTrajectoryModel(env);
  const snapshots = trajectoryModel ? await snapshotsInRange(env.DB, chunk.from_id, chunk.to_id, scoredAt.slice(0, 10)) : null;
  // Playbooks set each account's lead time; entering a playbook tier assigns the holdout arm.
  const playbooks = await chunkPlaybooks(env, chunk.from_id, chunk.to_id, scoredAt.slice(0, 10));
  let writes = 0;
  for (let i = 0; i < todo.length; i += WRITE_SIZE) {
    const part = todo.slice(i, i + WRITE_SIZE);
    const scoreRows: ScoreWrite[] = [];
    const newEvents: NewEvent[] = [];
    const shadowRows: { r: string; a: string; m: string; p: number }[] = [];
    const histories: { id: string; history: HealthAt[] }[] = [];
    const assignments: NewAssignment[] = [];
    for (const a of part) {
      const features = JSON.parse(a.features) as Signals;
      const result = assess(models, features, 10);
      const forecast = trajectoryModel ? (facts: TrajectoryFacts) => modelForecast(trajectoryModel, facts, features, snapshots?.get(a.id) ?? []) : undefined;
      const match = matchFor(playbooks, result);
      const t = rescoredTrajectory(a, result, models.churn.artifact.tiers.red, leadDaysWith(lead, match), scoredAt.slice(0, 10), forecast);
      const entry = await playbookEntry(playbooks, a, result, match, t.trajectory, msg.runId, scoredAt);
      assignments.push(...entry.assignments);
      scoreRows.push({ ...toScoreWrite(a.id, result, "rescore", scoredAt, msg.runId), ...t.scoreFields });
      histories.push({ id: a.id, history: t.history });
      newEvents.push(...(await changeEvents(a, result, msg.runId, heldOutNow(playbooks, a.id, entry.assignments))), ...(await trendEvent(a, t.trajectory, msg.runId, result.score.modelVersion)), ...entry.events);
      if (shadow) shadowRows.push({ r: msg.runId, a: a.id, m: shadow.artifact.version, p: shadow.probability(features) });
    }
    // One transaction: the scores, the histories, the holdout assignments (after the scores they
    // point to), the events and their deliveries.
    await env.DB.batch([
      ...toD1(env.DB, [...insertScoreStatements(d, scoreRows), ...eventStatements(d, newEvents), ...shadowStatements(d, shadowRows)]),
      ...historyStatements(env.DB, histories),
      ...assignmentStatements(env.DB, assignments),
    ]);
    writes++;
    await enqueuePendingDeliveries(env, newEvents.map((e) => e.id));
    if (msg.fault === "crash-mid-chunk" && String(env.ALLOW_FAULT_INJECTION) === "true" && attempt === 1 && writes === 1) {
      throw new Error(`injected fault: crashed in chunk ${msg.chunk} of ${msg.runId} after its first write`);
    }
  }

  // Finished: the chunk's counts come from what is in D1, so a retry cannot count twice.
  const [counted] = await env.DB.batch([
    env.DB.prepare(
      `UPDATE rescore_chunks SET status = 'completed', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
         scored = (SELECT count(*) FROM scores WHERE run_id = ?1 AND account_id >= ?3 ${below("account_id", "?4")}),
         tier_changes = (SELECT count(*) FROM events WHERE run_id = ?1 AND type = 'account.risk_tier_changed' AND account_id >= ?3 ${below("account_id", "?4")})
       WHERE run_id = ?1 AND chunk = ?2 AND status = 'queued' RETURNING chunk`,
    ).bind(msg.runId, msg.chunk, ...binds),
    env.DB.prepare(`UPDATE rescore_runs SET chunks_done = (SELECT count(*) FROM rescore_chunks WHERE run_id = ?1 AND status = 'completed') WHERE id = ?1`).bind(msg.runId),
  ]);
  if (counted.results.length) await finishRun(env, msg.runId);
  return "done";
}

function shadowStatements(d: Db, rows: { r: string; a: string; m: string; p: number }[]): BatchItem<"sqlite">[] {
  if (rows.length === 0) return [];
  return jsonChunks(rows).map((json) =>
    d
      .insert(shadowScores)
      .select(sql`SELECT json_extract(value, '$.r'), json_extract(value, '$.a'), json_extract(value, '$.m'), json_extract(value, '$.p'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM json_each(${json}) WHERE true`)
      .onConflictDoNothing(),
  );
}

/**
 * Events for an account's change between its previous current score and this one. An account the
 * holdout holds out gets its tier change with `controlGroup: true` and no next action.
 */
async function changeEvents(a: AccountRow, r: Assessment, runId: string, controlGroup: boolean): Promise<NewEvent[]> {
  const out: NewEvent[] = [];
  const account = { id: a.id, name: a.name, arr: a.arr, owner: a.owner };
  if (a.risk_tier !== null && a.risk_tier !== r.score.riskTier) {
    out.push({
      id: await eventId(runId, a.id, "account.risk_tier_changed"),
      type: "account.risk_tier_changed",
      accountId: a.id,
      runId,
      modelVersion: r.score.modelVersion,
      payload: {
        account,
        previousTier: a.risk_tier,
        tier: r.score.riskTier,
        previousChurnProbability: a.churn_probability,
        churnProbability: r.score.churnProbability,
        interval: r.score.interval,
        drivers: r.score.drivers.slice(0, 3).map((dr) => ({ feature: dr.feature, value: dr.value, contribution: dr.contribution, phrase: dr.phrase })),
        nextAction: controlGroup ? null : r.score.nextAction,
        controlGroup,
        modelVersion: r.score.modelVersion,
        runId,
      },
    });
  }
  if (a.tier !== null && a.tier !== "blue" && r.tier === "blue") {
    out.push({
      id: await eventId(runId, a.id, "account.expansion_ready"),
      type: "account.expansion_ready",
      accountId: a.id,
      runId,
      modelVersion: r.expansion.modelVersion ?? r.score.modelVersion,
      payload: {
        account,
        expansionProbability: r.expansion.expansionProbability,
        reason: r.expansion.reason,
        source: r.expansion.source,
        churnProbability: r.score.churnProbability,
        runId,
      },
    });
  }
  return out;
}

/**
 * Marks the run completed once every chunk is (only the caller that flips the status does the
 * rest): records its portfolio figures and emits `rescore.completed`.
 */
export async function finishRun(env: Env, runId: string): Promise<void> {
  const flipped = await env.DB.prepare(
    `UPDATE rescore_runs SET status = 'completed', finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       scored = (SELECT coalesce(sum(scored), 0) FROM rescore_chunks WHERE run_id = ?1),
       tier_changes = (SELECT coalesce(sum(tier_changes), 0) FROM rescore_chunks WHERE run_id = ?1)
     WHERE id = ?1 AND status = 'running' AND chunks_done >= chunks_total RETURNING scored, tier_changes, accounts, model_version, started_at, finished_at, trigger`,
  )
    .bind(runId)
    .first<SqlPick<typeof rescoreRuns, "scored" | "tier_changes" | "accounts" | "model_version" | "started_at" | "finished_at" | "trigger">>();
  if (!flipped) return;
  const portfolio = await portfolioFigures(env.DB);
  const d = db(env.DB);
  const event: NewEvent = {
    id: await eventId(runId, "rescore.completed"),
    type: "rescore.completed",
    runId,
    modelVersion: flipped.model_version,
    payload: {
      runId,
      trigger: flipped.trigger,
      modelVersion: flipped.model_version,
      accounts: flipped.accounts,
      scored: flipped.scored,
      tierChanges: flipped.tier_changes,
      startedAt: flipped.started_at,
      finishedAt: flipped.finished_at,
      portfolio: { tiers: portfolio.tiers, arrAtRisk: portfolio.arrAtRisk },
    },
  };
  await runBatch(d, eventStatements(d, [event]));
  await env.DB.prepare("UPDATE rescore_runs SET portfolio = ?2 WHERE id = ?1").bind(runId, JSON.stringify(portfolio)).run();
  await enqueuePendingDeliveries(env, [event.id]);
  await exportAfterRun(env, { id: runId, trigger: flipped.trigger, startedAt: flipped.started_at });
}
