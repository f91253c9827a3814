/**
 * What the webhook tests share: the hooks every file registers (an admin key; after each test,
 * `fetch` restored and the test's endpoints disabled), endpoints created and read through the
 * routes, events recorded the way rescoring records them, deliveries read from D1 in the shape the
 * delivery log answers with, the queue consumer driven one message at a time, and receivers
 * stubbed at `fetch` (a test inside workerd cannot host an HTTP server).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, expect, vi } from "vitest";
import type { CreatedWebhook, WebhookDelivery, WebhookEndpoint } from "../../../client/index";
import type { SqlRow } from "../../../shared/db/rows";
import type { webhookDeliveries } from "../../../shared/db/schema";
import { db, runBatch } from "../../../shared/db/write";
import worker from "../../../workers/index";
import { eventStatements, type NewEvent } from "../../../workers/webhooks/outbox";
import { call, createKey } from "../helpers";

/** An admin key, created before this file's tests by the hooks `setUpWebhookTests` registers. */
export let admin: string;

/** Registers the hooks every webhook test file needs; call it once at the top of the file. */
export function setUpWebhookTests(): void {
  beforeAll(async () => {
    admin = await createKey(["admin"]);
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    // Each test's endpoints receive only that test's events.
    await env.DB.prepare("UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'test over' WHERE status = 'enabled'").run();
  });
}

export async function createEndpoint(body: Record<string, unknown>): Promise<CreatedWebhook> {
  const res = await call("POST", "/v1/webhooks", { key: admin, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<CreatedWebhook>();
}

export async function getEndpoint(id: string): Promise<WebhookEndpoint> {
  const res = await call("GET", `/v1/webhooks/${id}`, { key: admin });
  expect(res.status).toBe(200);
  return res.json<WebhookEndpoint>();
}

export const tierChange = (accountId: string) => ({
  account: { id: accountId, name: "Acme <Corp> & Co", arr: 120_000, owner: "Avery Chen" },
  previousTier: "green",
  tier: "red",
  previousChurnProbability: 0.21,
  churnProbability: 0.83,
  interval: [0.74, 0.9],
  drivers: [
    { feature: "Contract", value: "Month-to-month", contribution: 0.62, phrase: "month-to-month contract raises risk" },
    { feature: "tenure", value: 1, contribution: 0.55, phrase: "tenure of 1 raises risk" },
  ],
  nextAction: "Review Contract with the account owner: month-to-month contract raises risk",
  modelVersion: "churn-test",
  runId: "run_webhook_test",
});

let seq = 0;
/** Records an event the way rescoring does (with its deliveries, not queued); returns its id. */
export async function newEvent(type: NewEvent["type"] = "account.risk_tier_changed", payload?: Record<string, unknown>): Promise<string> {
  const id = `evt_test_${++seq}_${crypto.randomUUID().slice(0, 8)}`;
  const d = db(env.DB);
  await runBatch(d, eventStatements(d, [{ id, type, accountId: `ACME-${seq}`, runId: "run_webhook_test", payload: payload ?? tierChange(`ACME-${seq}`) }]));
  return id;
}

/** A delivery as stored in D1, in the shape the delivery log answers with. */
export async function deliveryOf(endpointId: string, eventId: string): Promise<WebhookDelivery> {
  const r = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE endpoint_id = ?1 AND event_id = ?2").bind(endpointId, eventId).first<SqlRow<typeof webhookDeliveries>>();
  expect(r, `no delivery of ${eventId} to ${endpointId}`).not.toBeNull();
  return {
    id: r!.id,
    eventId: r!.event_id,
    eventType: r!.event_type,
    status: r!.status,
    attempts: r!.attempts,
    lastStatusCode: r!.last_status_code,
    lastError: r!.last_error,
    attemptLog: JSON.parse(r!.attempt_log) as WebhookDelivery["attemptLog"],
    createdAt: r!.created_at,
    deliveredAt: r!.delivered_at,
    nextAttemptAt: r!.next_attempt_at,
  };
}

export async function deliveryById(id: string): Promise<WebhookDelivery> {
  const r = await env.DB.prepare("SELECT endpoint_id, event_id FROM webhook_deliveries WHERE id = ?1").bind(id).first<{ endpoint_id: string; event_id: string }>();
  return deliveryOf(r!.endpoint_id, r!.event_id);
}

/** Makes a scheduled retry due now, as if its time had come. */
export async function makeDue(deliveryId: string): Promise<void> {
  await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1").bind(deliveryId, new Date(Date.now() - 1000).toISOString()).run();
}

let msgSeq = 0;
/** Hands one message to the Worker's queue handler, as Queues would; returns what it did with it. */
export async function consume(deliveryId: string, opts: { queue?: string; attempts?: number; env?: Partial<Record<string, string>> } = {}) {
  const msgId = `m${++msgSeq}`;
  const batch = createMessageBatch(opts.queue ?? "foresight-webhooks", [{ id: msgId, timestamp: new Date(), attempts: opts.attempts ?? 1, body: { deliveryId } }]);
  // getQueueResult reports which messages were retried but not their delay: watch retry() for that.
  const retry = vi.spyOn(batch.messages[0], "retry");
  const ctx = createExecutionContext();
  await worker.queue(batch, (opts.env ? { ...env, ...opts.env } : env) as Env, ctx);
  const result = await getQueueResult(batch, ctx);
  const retried = result.retryMessages.some((m: { msgId: string }) => m.msgId === msgId);
  expect(retry.mock.calls.length).toBe(retried ? 1 : 0);
  return { acked: result.explicitAcks.includes(msgId), retried, delaySeconds: retry.mock.calls[0]?.[0]?.delaySeconds };
}

export interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: string | undefined;
}

/**
 * Stubs `fetch` for URLs under `prefix` with `answer` (other URLs go out for real) and records
 * each request; the stub is removed after the test.
 */
export function receiver(prefix: string, answer: (n: number, req: Request) => Response | Promise<Response>): Received[] {
  const seen: Received[] = [];
  const real = globalThis.fetch.bind(globalThis);
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(prefix)) return real(input, init);
    const body = await req.text();
    seen.push({ url: req.url, headers: Object.fromEntries(req.headers), body, redirect: init?.redirect });
    return answer(seen.length, req);
  });
  return seen;
}
