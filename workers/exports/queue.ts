/**
 * What starts a day's CRM export: one message on the export queue, handled by job.ts. The day's
 * cron rescoring run sends it when it completes (`exportAfterRun`, from finishRun); the 03:17 cron
 * (`ensureDailyExport`) sends it when the day still has no export and no cron run is under way (the
 * run failed, or never started); `POST /v1/exports` sends it on demand. Sending twice is harmless:
 * the job claims the day in D1 first, so one export is written per day.
 */
import type { SqlPick } from "../../shared/db/rows";
import type { rescoreRuns, scoreExports } from "../../shared/db/schema";
import { today } from "../../shared/db/write";

/** A message on `foresight-exports`: the day to export, and the run whose scores it follows, if one. */
export interface ExportMessage {
  day: string;
  runId: string | null;
}

/** An export claimed this long ago and still `writing` died with its isolate (a queue invocation lasts at most 15 minutes). */
export const STALE_AFTER_MS = 20 * 60_000;

/** The R2 key of a day's export (in the MODELS bucket, beside `models/` and `archive/`). */
export function exportKey(day: string): string {
  return `exports/${day}/scores.csv.gz`;
}

/** Queues the export of `day`. */
export async function queueExport(env: Env, day: string, runId: string | null = null): Promise<void> {
  await env.EXPORT_QUEUE.send({ day, runId } satisfies ExportMessage, { contentType: "json" });
}

/**
 * Called by finishRun when a rescoring run completes: the daily (cron) run starts the day's export
 * of the scores it just wrote. Runs started with `POST /v1/rescore` do not (POST /v1/exports does).
 */
export async function exportAfterRun(env: Env, run: { id: string; trigger: string; startedAt: string | null }): Promise<void> {
  if (run.trigger !== "cron") return;
  await queueExport(env, (run.startedAt ?? new Date().toISOString()).slice(0, 10), run.id);
}

/** Today's export row as it stands: null when there is none. */
export async function exportStanding(env: Env, day: string): Promise<SqlPick<typeof scoreExports, "status" | "created_at"> | null> {
  return env.DB.prepare("SELECT status, created_at FROM score_exports WHERE day = ?1").bind(day).first();
}

/** Whether an export row is being written right now (claimed, and not yet stale). */
export function isWriting(row: SqlPick<typeof scoreExports, "status" | "created_at"> | null, now = new Date()): boolean {
  return row?.status === "writing" && Date.parse(row.created_at) > now.getTime() - STALE_AFTER_MS;
}

/**
 * Cron job (03:17 UTC, after the 02:00 rescoring): the safety net. Queues today's export unless it
 * is ready, being written, or still waiting for a cron rescoring run under way (whose completion
 * starts it).
 */
export async function ensureDailyExport(env: Env, now: Date): Promise<void> {
  const day = today(now);
  const row = await exportStanding(env, day);
  if (row?.status === "ready" || isWriting(row, now)) return;
  const running = await env.DB.prepare("SELECT id FROM rescore_runs WHERE trigger = 'cron' AND status IN ('queued', 'running') AND started_at >= ?1 LIMIT 1")
    .bind(day)
    .first<SqlPick<typeof rescoreRuns, "id">>();
  if (running) {
    console.log(`cron: today's export waits for rescoring run ${running.id}, which starts it when it completes`);
    return;
  }
  await queueExport(env, day);
  console.log(`cron: today's export (${day}) ${row ? `was ${row.status}` : "had not run"}; queued`);
}
