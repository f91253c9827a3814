/**
 * Events and the webhook outbox. An event's id is derived from what happened, so one change is
 * one event however often the work behind it is retried. Its deliveries (one per subscribed,
 * enabled endpoint) are written in the same D1 transaction as the event itself, then handed to
 * the webhook queue; anything written but not yet queued (a crash in between) is picked up by
 * `enqueuePendingDeliveries` on the next run or cron.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SqlPick } from "../../shared/db/rows";
import { events, webhookDeliveries } from "../../shared/db/schema";
import { type Db, jsonChunks } from "../../shared/db/write";
import { sha256Hex } from "../../shared/hash";

/** An event to record: an `events` row before it is written. */
export type NewEvent = Pick<typeof events.$inferInsert, "id" | "type" | "accountId" | "runId" | "modelVersion" | "payload">;

/** A stable event id (`evt_` + 24 hex) from the parts that identify the change. */
export async function eventId(...parts: (string | number | null | undefined)[]): Promise<string> {
  return `evt_${(await sha256Hex(parts.map((p) => String(p ?? "")).join("|"))).slice(0, 24)}`;
}

/** Message on the webhook queue: one delivery to attempt. */
export interface DeliveryMessage {
  deliveryId: string;
}

/**
 * Statements that insert events (ignored if they exist) and their pending deliveries to every
 * enabled endpoint subscribed to the type (or to "*"). Run them in the same batch as the state
 * change the events describe.
 */
export function eventStatements(d: Db, list: NewEvent[]): BatchItem<"sqlite">[] {
  if (list.length === 0) return [];
  const out: BatchItem<"sqlite">[] = [];
  for (const json of jsonChunks(list.map((e) => ({ id: e.id, t: e.type, a: e.accountId ?? null, r: e.runId ?? null, m: e.modelVersion ?? null, p: e.payload })))) {
    out.push(
      d
        .insert(events)
        .select(
          sql`SELECT json_extract(value, '$.id'), json_extract(value, '$.t'), json_extract(value, '$.a'), json_extract(value, '$.r'), json_extract(value, '$.m'), json_extract(value, '$.p'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM json_each(${json}) WHERE true`,
        )
        .onConflictDoNothing(),
    );
  }
  out.push(deliveriesFor(d, JSON.stringify(list.map((e) => e.id))));
  return out;
}

/** Pending deliveries of the events in `idsJson` (a JSON array) to their subscribed endpoints. */
function deliveriesFor(d: Db, idsJson: string): BatchItem<"sqlite"> {
  // drizzle's insert-select names every column in table order; the SELECT yields them all.
  return d
    .insert(webhookDeliveries)
    .select(
      sql`SELECT 'dlv_' || lower(hex(randomblob(12))), e.id, ev.id, ev.type, 'pending', 0, NULL, NULL, '[]', ${NOW}, NULL, NULL, ${NOW}, ${NOW}
        FROM events ev JOIN webhook_endpoints e ON e.status = 'enabled'
          AND EXISTS (SELECT 1 FROM json_each(e.event_types) t WHERE t.value = ev.type OR t.value = '*')
        WHERE ev.id IN (SELECT value FROM json_each(${idsJson}))`,
    )
    .onConflictDoNothing();
}

const NOW = sql.raw("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");

/**
 * Hands pending deliveries that are not yet queued (or were queued long ago and never
 * attempted), and retries an hour overdue, to the webhook queue; `eventIds` limits it to those
 * events. The daily cron calls it without a filter, as a sweeper. Returns how many.
 */
export async function enqueuePendingDeliveries(env: Env, eventIds?: string[]): Promise<number> {
  const staleBefore = new Date(Date.now() - 15 * 60_000).toISOString();
  // A retry whose queue message was lost (its attempt is an hour overdue) is queued again; the
  // consumer claims each attempt in D1, so a late duplicate message cannot send twice.
  const overdue = new Date(Date.now() - 60 * 60_000).toISOString();
  const filter = eventIds ? `AND event_id IN (SELECT value FROM json_each(?3))` : "";
  const rows = await env.DB.prepare(
    `SELECT id FROM webhook_deliveries
     WHERE ((status = 'pending' AND (enqueued_at IS NULL OR (attempts = 0 AND enqueued_at < ?1))) OR (status = 'retrying' AND next_attempt_at < ?2 AND (enqueued_at IS NULL OR enqueued_at < ?2))) ${filter}
     LIMIT 5000`,
  )
    .bind(...(eventIds ? [staleBefore, overdue, JSON.stringify(eventIds)] : [staleBefore, overdue]))
    .all<SqlPick<typeof webhookDeliveries, "id">>();
  const ids = rows.results.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 100) {
    const part = ids.slice(i, i + 100);
    await env.WEBHOOK_QUEUE.sendBatch(part.map((deliveryId) => ({ body: { deliveryId } satisfies DeliveryMessage, contentType: "json" as const })));
    await env.DB.prepare("UPDATE webhook_deliveries SET enqueued_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(part)).run();
  }
  return ids.length;
}

/** Cron job: deliveries written but never queued (a crash between the two) go out now. */
export async function sweepOutbox(env: Env): Promise<void> {
  const n = await enqueuePendingDeliveries(env);
  if (n) console.log(`cron: queued ${n} pending webhook deliveries`);
}
