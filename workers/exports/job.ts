/**
 * The daily CRM export: the same CSV as `GET /v1/exports/scores.csv`, gzipped (CompressionStream)
 * and streamed into R2 at `exports/{day}/scores.csv.gz` part by part, recorded in `score_exports`
 * (status, rows, bytes, sha256 of the object) and announced by `export.ready` with a signed,
 * expiring download link. Idempotent per day: the day is claimed in D1 first (a row `writing`), so
 * two messages for one day write it once, a ready day is never written again, and a failed one (or
 * one whose writer died) is written afresh by the next message. The event's id is derived from the
 * day, so one day is one event.
 */
import { eq } from "drizzle-orm";
import { scoreExports } from "../../shared/db/schema";
import { db, runBatch } from "../../shared/db/write";
import { enqueuePendingDeliveries, eventId, eventStatements, type NewEvent } from "../webhooks/outbox";
import { exportLink, linkKey } from "./links";
import { type ExportMessage, exportKey, exportStanding, isWriting, STALE_AFTER_MS } from "./queue";
import { exportStream } from "./stream";
import { PART_BYTES, uploadStream } from "./upload";

export type StoredExport = typeof scoreExports.$inferSelect;

/**
 * What became of one message: written now; skipped because the day is ready; or busy, because
 * another writer holds the day (its message is retried later: if that writer died, the claim has
 * gone stale by then and the retry writes the day).
 */
export type ExportOutcome = { status: "ready"; export: StoredExport } | { status: "skipped" | "busy"; reason: string };

/**
 * Claims the day: inserts it as `writing`, or takes over a row that failed or went stale. False
 * when the day is ready or another writer holds it.
 */
async function claim(env: Env, day: string, runId: string | null, now: Date): Promise<boolean> {
  const row = await env.DB.prepare(
    `INSERT INTO score_exports (day, r2_key, status, run_id, created_at) VALUES (?1, ?2, 'writing', ?3, ?4)
     ON CONFLICT (day) DO UPDATE SET status = 'writing', run_id = excluded.run_id, rows = 0, bytes = 0, sha256 = NULL, event_id = NULL, error = NULL,
       created_at = excluded.created_at, finished_at = NULL
     WHERE score_exports.status = 'failed' OR (score_exports.status = 'writing' AND score_exports.created_at < ?5)
     RETURNING day`,
  )
    .bind(day, exportKey(day), runId, now.toISOString(), new Date(now.getTime() - STALE_AFTER_MS).toISOString())
    .first();
  return row !== null;
}

/**
 * Writes the day's export if nobody has (see the module comment), fires `export.ready`, and queues
 * its deliveries. A failure marks the day `failed` with the error and rethrows (the queue retries).
 *
 * @example
 *   await runExport(env, { day: "2026-12-01", runId: "run_…" });
 */
export async function runExport(env: Env, message: ExportMessage, now = new Date(), partBytes = PART_BYTES): Promise<ExportOutcome> {
  const { day, runId } = message;
  if (!(await claim(env, day, runId, now))) {
    return isWriting(await exportStanding(env, day), now) ? { status: "busy", reason: `the export of ${day} is being written` } : { status: "skipped", reason: `the export of ${day} is ready` };
  }
  const d = db(env.DB);
  try {
    const counter = { rows: 0 };
    const csv = exportStream(env, { format: "csv", bom: true }, day, counter);
    const uploaded = await uploadStream(env.MODELS, exportKey(day), csv.pipeThrough(new CompressionStream("gzip")), {
      httpMetadata: { contentType: "application/gzip", contentDisposition: `attachment; filename="foresight-scores-${day}.csv.gz"` },
      customMetadata: { rows: String(counter.rows), day },
    }, partBytes);
    const finishedAt = new Date().toISOString();
    const link = await exportLink(env, await linkKey(env), day);
    const event: NewEvent = {
      id: await eventId(day, "export.ready"),
      type: "export.ready",
      runId,
      payload: { day, rows: counter.rows, bytes: uploaded.bytes, sha256: uploaded.sha256, format: "csv", compression: "gzip", runId, finishedAt, ...link },
    };
    await runBatch(d, [
      d.update(scoreExports).set({ status: "ready", rows: counter.rows, bytes: uploaded.bytes, sha256: uploaded.sha256, eventId: event.id, finishedAt }).where(eq(scoreExports.day, day)),
      ...eventStatements(d, [event]),
    ]);
    await enqueuePendingDeliveries(env, [event.id]);
    return { status: "ready", export: (await d.select().from(scoreExports).where(eq(scoreExports.day, day)).get())! };
  } catch (err) {
    await d
      .update(scoreExports)
      .set({ status: "failed", error: String((err as Error)?.message ?? err).slice(0, 1000), finishedAt: new Date().toISOString() })
      .where(eq(scoreExports.day, day));
    throw err;
  }
}

/**
 * Consumer of `foresight-exports`: one day per message; a failure is retried with back-off, and a
 * day another writer holds is looked at again once its claim could have gone stale.
 */
export async function consumeExports(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const m of batch.messages as readonly Message<ExportMessage>[]) {
    try {
      const out = await runExport(env, m.body);
      if (out.status === "busy") {
        m.retry({ delaySeconds: STALE_AFTER_MS / 2000 });
        continue;
      }
      console.log(out.status === "ready" ? `export ${m.body.day}: ${out.export.rows} accounts, ${out.export.bytes} bytes gzipped` : `export ${m.body.day}: skipped (${out.reason})`);
      m.ack();
    } catch (err) {
      console.error(`export ${m.body.day} failed (attempt ${m.attempts}):`, err);
      m.retry({ delaySeconds: Math.min(600, 30 * 2 ** m.attempts) });
    }
  }
}
