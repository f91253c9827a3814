/**
 * Webhook deliveries (Standard Webhooks). Each queue message names one delivery: one event to
 * one endpoint. The consumer signs and POSTs the event, records the attempt in the delivery log
 * and decides what comes next:
 *
 * - 2xx: succeeded (status code, milliseconds, deliveredAt); the endpoint's failure count resets.
 * - 410 Gone: the receiver asked to stop; the endpoint is disabled and the delivery failed.
 * - anything else (other statuses, network errors, the 15 s timeout, redirects, which are never
 *   followed): retried on `WEBHOOK_RETRY_SCHEDULE` (seconds, ±10% jitter; by default 5 s, 5 min,
 *   30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 14 h, 16 h after the immediate first try: about 3 days),
 *   or later if the receiver's `Retry-After` (seconds or an HTTP date, honoured up to 12 h) says
 *   so. Queues delay a retry by at most 12 h, so longer waits are chained: a message that arrives
 *   before the delivery's `next_attempt_at` is put back for the time that remains.
 * - schedule exhausted: the delivery is dead and goes to the dead-letter queue, whose consumer
 *   records "dead-lettered" in its log. An endpoint whose deliveries end dead three times in a row
 *   (no success in between) is disabled.
 *
 * Idempotent: the event id is the `webhook-id` of every attempt and redelivery (the receiver's
 * idempotency key), a message for a delivery that is already settled is acknowledged and does
 * nothing, and each attempt is claimed in D1 first, so two messages for one delivery never send it
 * twice at once. A disabled endpoint's deliveries fail with "endpoint disabled".
 */
import type { AttemptLogEntry, events, webhookDeliveries, webhookEndpoints } from "../../shared/db/schema";
import type { SqlPick, SqlRow } from "../../shared/db/rows";
import type { DeliveryMessage } from "./outbox";
import { attemptsInCycle, AUTO_DISABLE_AFTER, MAX_QUEUE_DELAY_S, parseRetryAfter, RETRY_AFTER_CAP_S, retrySchedule, withJitter } from "./retry";
import { sign } from "./signing";
import { slackMessage } from "./slack";
import { checkWebhookUrl, loopbackAllowed } from "./url-guard";

/** A receiver gets this long to answer. */
export const DELIVERY_TIMEOUT_MS = 15_000;

/** How long an attempt holds its claim on a delivery (longer than the timeout plus bookkeeping). */
const CLAIM_LEASE_MS = 60_000;
/** A message may arrive this much before `next_attempt_at` and still attempt (queue timing slack). */
const EARLY_GRACE_MS = 1_000;
/** Where a message goes back to after an unexpected error (D1 unavailable, say). */
const ERROR_RETRY_S = 60;

const isoNow = () => new Date().toISOString();

/** A delivery with its endpoint and event, as `loadDelivery` joins them. */
type DeliveryRow = SqlPick<typeof webhookDeliveries, "id" | "endpoint_id" | "event_id" | "event_type" | "status" | "attempts" | "next_attempt_at" | "attempt_log"> &
  SqlPick<typeof webhookEndpoints, "url" | "kind" | "secret"> & {
    endpoint_status: SqlRow<typeof webhookEndpoints>["status"];
    payload: SqlRow<typeof events>["payload"] | null;
    event_created_at: string | null;
  };

/** What the consumer did with one message; `delaySeconds` set means it was put back for a retry. */
export interface Outcome {
  action: "ack" | "retry";
  delaySeconds?: number;
  reason: string;
}

const ack = (reason: string): Outcome => ({ action: "ack", reason });
const later = (delaySeconds: number, reason: string): Outcome => ({ action: "retry", delaySeconds: Math.min(MAX_QUEUE_DELAY_S, Math.max(1, Math.ceil(delaySeconds))), reason });

/** Consumer of `foresight-webhooks`: attempts each message's delivery, concurrently. */
export async function consumeDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await eachDelivery(batch, (id) => deliverOnce(env, id));
}

/** Consumer of `foresight-webhooks-dlq`: marks each delivery dead in its log. */
export async function consumeDeadDeliveries(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await eachDelivery(batch, (id) => recordDeadLetter(env, id));
}

async function eachDelivery(batch: MessageBatch<unknown>, handle: (deliveryId: string) => Promise<Outcome>): Promise<void> {
  await Promise.all(
    batch.messages.map(async (m) => {
      const id = (m.body as Partial<DeliveryMessage> | null)?.deliveryId;
      if (typeof id !== "string") {
        console.error(`webhooks: ${batch.queue} message ${m.id} names no delivery; dropped`, m.body);
        m.ack();
        return;
      }
      try {
        const outcome = await handle(id);
        if (outcome.action === "retry") m.retry({ delaySeconds: outcome.delaySeconds });
        else m.ack();
      } catch (err) {
        console.error(`webhooks: delivery ${id} (${batch.queue}, message attempt ${m.attempts}) failed unexpectedly:`, err);
        m.retry({ delaySeconds: ERROR_RETRY_S });
      }
    }),
  );
}

async function loadDelivery(env: Env, id: string): Promise<DeliveryRow | null> {
  return env.DB.prepare(
    `SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.attempt_log,
            e.url, e.kind, e.secret, e.status AS endpoint_status, ev.payload, ev.created_at AS event_created_at
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id LEFT JOIN events ev ON ev.id = d.event_id
     WHERE d.id = ?1`,
  )
    .bind(id)
    .first<DeliveryRow>();
}

/** SQL that appends the JSON log entry bound at parameter `n` to the delivery's log. */
const appendLog = (n: number) => `attempt_log = json_insert(attempt_log, '$[#]', json(?${n}))`;

/** Settles a delivery as failed (no retry) with a note in its log. */
async function settleFailed(env: Env, id: string, error: string, entry: AttemptLogEntry): Promise<void> {
  await env.DB.prepare(
    `UPDATE webhook_deliveries SET status = 'failed', last_error = ?2, next_attempt_at = NULL, ${appendLog(3)}, updated_at = ?4
     WHERE id = ?1 AND status IN ('pending', 'retrying')`,
  )
    .bind(id, error, JSON.stringify(entry), isoNow())
    .run();
}

function disableEndpoint(env: Env, endpointId: string, reason: string): D1PreparedStatement {
  return env.DB.prepare("UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'enabled'").bind(endpointId, reason, isoNow());
}

/** One more dead delivery for the endpoint; the AUTO_DISABLE_AFTER-th in a row disables it. */
function countDead(env: Env, endpointId: string, deliveryId: string): D1PreparedStatement {
  return env.DB.prepare(
    `UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
       status = CASE WHEN consecutive_failures + 1 >= ?2 THEN 'disabled' ELSE status END,
       disabled_reason = CASE WHEN consecutive_failures + 1 >= ?2 AND status = 'enabled' THEN ?3 ELSE disabled_reason END,
       updated_at = ?4
     WHERE id = ?1`,
  ).bind(endpointId, AUTO_DISABLE_AFTER, `${AUTO_DISABLE_AFTER} deliveries in a row failed every retry (the last: ${deliveryId}); fix the receiver, then re-enable with PATCH {"status": "enabled"}`, isoNow());
}

function lastNote(logText: string): string | undefined {
  const log = JSON.parse(logText) as AttemptLogEntry[];
  return log[log.length - 1]?.note;
}

/** The body a receiver gets: Standard Webhooks `{type, timestamp, data}`, or a Slack message. */
export function deliveryBody(kind: string, type: string, eventId: string, createdAt: string, data: Record<string, unknown>): string {
  if (kind === "slack") return JSON.stringify(slackMessage(type, data, eventId));
  return JSON.stringify({ type, timestamp: createdAt, data });
}

/** Makes (at most) one attempt at a delivery and records it; says what to do with the message. */
export async function deliverOnce(env: Env, deliveryId: string): Promise<Outcome> {
  const row = await loadDelivery(env, deliveryId);
  if (!row) return ack("no such delivery (endpoint or delivery deleted)");
  if (row.status === "succeeded" || row.status === "failed") return ack(`already ${row.status}`);
  if (row.status === "dead") {
    // Marked dead but never handed over (the send to the dead-letter queue failed): hand it over now.
    if (lastNote(row.attempt_log) !== "dead-lettered") {
      await env.WEBHOOK_DLQ.send({ deliveryId } satisfies DeliveryMessage, { contentType: "json" });
      return ack("dead; handed to the dead-letter queue");
    }
    return ack("already dead");
  }
  if (row.endpoint_status !== "enabled") {
    await settleFailed(env, row.id, "endpoint disabled", { at: isoNow(), status: null, ms: 0, note: "endpoint disabled" });
    return ack("endpoint disabled");
  }
  if (row.payload === null || row.event_created_at === null) {
    await settleFailed(env, row.id, "event missing", { at: isoNow(), status: null, ms: 0, note: "event missing" });
    return ack("event missing");
  }
  const now = Date.now();
  if (row.next_attempt_at) {
    const wait = Date.parse(row.next_attempt_at) - now;
    // Early: a chained wait longer than Queues' 12 h, or another message's claim still running.
    if (wait > EARLY_GRACE_MS) return later(wait / 1000, "not due yet");
  }
  // Claim the attempt: only the message that moves next_attempt_at on from what it read goes ahead.
  const claimed = await env.DB.prepare(
    "UPDATE webhook_deliveries SET next_attempt_at = ?2, updated_at = ?3 WHERE id = ?1 AND status = ?4 AND attempts = ?5 AND next_attempt_at IS ?6 RETURNING id",
  )
    .bind(row.id, new Date(now + CLAIM_LEASE_MS).toISOString(), new Date(now).toISOString(), row.status, row.attempts, row.next_attempt_at)
    .first();
  if (!claimed) return ack("claimed by another message");

  // The SSRF guard again: the rule or WEBHOOK_ALLOW_LOOPBACK may have changed since the URL was accepted.
  const verdict = checkWebhookUrl(row.url, { allowLoopback: loopbackAllowed(env) });
  if (!verdict.ok) {
    const error = `url refused: the URL ${verdict.reason}`;
    await settleFailed(env, row.id, error, { at: isoNow(), status: null, ms: 0, note: "url refused", error });
    await disableEndpoint(env, row.endpoint_id, `${error}; change it with PATCH`).run();
    return ack("url refused");
  }

  const body = deliveryBody(row.kind, row.event_type, row.event_id, row.event_created_at, JSON.parse(row.payload) as Record<string, unknown>);
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    "content-type": "application/json",
    "user-agent": "Foresight-Webhooks/1.0",
    "webhook-id": row.event_id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await sign(row.secret, row.event_id, timestamp, body),
  };
  const started = Date.now();
  let status: number | null = null;
  let error: string | undefined;
  let retryAfter: number | null = null;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
  try {
    const res = await fetch(verdict.url.href, { method: "POST", headers, body, redirect: "manual", signal: controller.signal });
    status = res.status;
    retryAfter = parseRetryAfter(res.headers.get("retry-after"));
    if (status >= 200 && status < 300) await res.body?.cancel();
    else {
      const text = (await res.text().catch(() => "")).replace(/\s+/g, " ").trim().slice(0, 200);
      error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}${text ? `: ${text}` : ""}`;
    }
  } catch (err) {
    error = controller.signal.aborted ? `timed out after ${DELIVERY_TIMEOUT_MS / 1000} s` : `network error: ${(err as Error).message ?? String(err)}`;
  } finally {
    clearTimeout(timer);
  }
  const ms = Date.now() - started;
  const attempt = row.attempts + 1;
  const entry: AttemptLogEntry = { at: new Date(started).toISOString(), attempt, status, ms, ...(error ? { error } : {}) };
  const stamp = isoNow();
  const record = (sets: string, ...binds: unknown[]) =>
    env.DB.prepare(`UPDATE webhook_deliveries SET attempts = ?2, last_status_code = ?3, last_error = ?4, ${appendLog(5)}, updated_at = ?6, ${sets} WHERE id = ?1`).bind(
      row.id,
      attempt,
      status,
      error ?? null,
      JSON.stringify(entry),
      stamp,
      ...binds,
    );

  if (status !== null && status >= 200 && status < 300) {
    await env.DB.batch([
      record("status = 'succeeded', delivered_at = ?6, next_attempt_at = NULL"),
      env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 0, updated_at = ?2 WHERE id = ?1 AND consecutive_failures > 0").bind(row.endpoint_id, stamp),
    ]);
    return ack(`succeeded with HTTP ${status}`);
  }
  if (status === 410) {
    await env.DB.batch([
      record("status = 'failed', next_attempt_at = NULL"),
      disableEndpoint(env, row.endpoint_id, `the receiver answered 410 Gone (delivery ${row.id}); re-enable with PATCH {"status": "enabled"} if that was a mistake`),
    ]);
    return ack("410 Gone: endpoint disabled");
  }
  const schedule = retrySchedule(env);
  const position = attemptsInCycle(JSON.parse(row.attempt_log) as AttemptLogEntry[]) + 1;
  if (position > schedule.length) {
    await env.DB.batch([record("status = 'dead', next_attempt_at = NULL"), countDead(env, row.endpoint_id, row.id)]);
    // If this send fails, the message is retried and the branch for dead deliveries above resends it.
    await env.WEBHOOK_DLQ.send({ deliveryId: row.id } satisfies DeliveryMessage, { contentType: "json" });
    return ack(`dead after ${position} attempts`);
  }
  const planned = withJitter(schedule[position - 1]);
  const delay = Math.max(planned, retryAfter === null ? 0 : Math.min(retryAfter, RETRY_AFTER_CAP_S));
  await record("status = 'retrying', next_attempt_at = ?7", new Date(Date.now() + delay * 1000).toISOString()).run();
  return later(delay, `attempt ${position} failed (${error}); next in ${delay} s`);
}

/**
 * The dead-letter consumer: a delivery that exhausted its schedule (or its queue retries, after
 * repeated unexpected errors) is dead, with a "dead-lettered" note in its log.
 */
export async function recordDeadLetter(env: Env, deliveryId: string): Promise<Outcome> {
  const stamp = isoNow();
  // Only deliveries the queue gave up on are still open here; the consumer settles the others itself.
  const flipped = await env.DB.prepare(
    "UPDATE webhook_deliveries SET status = 'dead', next_attempt_at = NULL, last_error = coalesce(last_error, 'queue retries exhausted'), updated_at = ?2 WHERE id = ?1 AND status IN ('pending', 'retrying') RETURNING endpoint_id",
  )
    .bind(deliveryId, stamp)
    .first<SqlPick<typeof webhookDeliveries, "endpoint_id">>();
  if (flipped) await countDead(env, flipped.endpoint_id, deliveryId).run();
  const noted = await env.DB.prepare(
    `UPDATE webhook_deliveries SET ${appendLog(2)}, updated_at = ?3
     WHERE id = ?1 AND status = 'dead' AND coalesce(json_extract(attempt_log, '$[#-1].note'), '') != 'dead-lettered' RETURNING id`,
  )
    .bind(deliveryId, JSON.stringify({ at: stamp, status: null, ms: 0, note: "dead-lettered" } satisfies AttemptLogEntry), stamp)
    .first();
  return ack(noted ? "dead-lettered" : "already recorded, or not dead");
}

/**
 * Sends a settled delivery again with the same event id (so the same `webhook-id`): resets it
 * to pending with a fresh retry schedule and queues it. Returns false if it is still in flight.
 */
export async function redeliver(env: Env, endpointId: string, deliveryId: string): Promise<boolean> {
  const stamp = isoNow();
  const reset = await env.DB.prepare(
    `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = NULL, enqueued_at = NULL, delivered_at = NULL, last_status_code = NULL, last_error = NULL,
       ${appendLog(3)}, updated_at = ?4
     WHERE id = ?1 AND endpoint_id = ?2 AND status IN ('succeeded', 'failed', 'dead') RETURNING id`,
  )
    .bind(deliveryId, endpointId, JSON.stringify({ at: stamp, status: null, ms: 0, note: "redelivery requested" } satisfies AttemptLogEntry), stamp)
    .first();
  if (!reset) return false;
  // enqueued_at stays NULL until the send succeeds, so a failed send is picked up by enqueuePendingDeliveries.
  await env.WEBHOOK_QUEUE.send({ deliveryId } satisfies DeliveryMessage, { contentType: "json" });
  await env.DB.prepare("UPDATE webhook_deliveries SET enqueued_at = ?2 WHERE id = ?1").bind(deliveryId, isoNow()).run();
  return true;
}
