/**
 * Webhooks inside workerd with real local D1 and Queues: the /v1/webhooks routes (CRUD,
 * validation, the SSRF guard, secret rotation, the delivery log and redelivery) and the delivery
 * consumer driven message by message through `worker.queue` (signatures checked with the
 * `standardwebhooks` package, retry delays, Retry-After, chaining past Queues' 12 h cap, 410,
 * exhaustion and the dead-letter queue, auto-disable, idempotency). Receivers are stubbed at
 * `fetch` (a test inside workerd cannot host an HTTP server; test/e2e/start.test.ts does the same
 * over real HTTP), except the unreachable one, which is a real closed port.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db, runBatch } from "../../../shared/db/write";
import worker from "../../../workers/index";
import { enqueuePendingDeliveries, eventStatements, type NewEvent } from "../../../workers/webhooks/outbox";
import type { AttemptLogEntry as LogEntry } from "../../../shared/db/schema";
import { attemptsInCycle, DEFAULT_RETRY_SCHEDULE, parseRetryAfter, retrySchedule, withJitter } from "../../../workers/webhooks/retry";
import { call, createKey, problemOf } from "../helpers";

let admin: string;

beforeAll(async () => {
  admin = await createKey(["admin"]);
});

afterEach(async () => {
  vi.restoreAllMocks();
  // Each test's endpoints receive only that test's events.
  await env.DB.prepare("UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = 'test over' WHERE status = 'enabled'").run();
});

interface Endpoint {
  id: string;
  url: string;
  secret: string;
  events: string[];
  kind: string;
  status: string;
  description: string | null;
  disabledReason: string | null;
  consecutiveFailures: number;
}

interface DeliveryView {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  attemptLog: LogEntry[];
  createdAt: string;
  deliveredAt: string | null;
  nextAttemptAt: string | null;
}

async function createEndpoint(body: Record<string, unknown>): Promise<Endpoint> {
  const res = await call("POST", "/v1/webhooks", { key: admin, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<Endpoint>();
}

async function getEndpoint(id: string): Promise<Endpoint> {
  const res = await call("GET", `/v1/webhooks/${id}`, { key: admin });
  expect(res.status).toBe(200);
  return res.json<Endpoint>();
}

const tierChange = (accountId: string) => ({
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
async function newEvent(type: NewEvent["type"] = "account.risk_tier_changed", payload?: Record<string, unknown>): Promise<string> {
  const id = `evt_test_${++seq}_${crypto.randomUUID().slice(0, 8)}`;
  const d = db(env.DB);
  await runBatch(d, eventStatements(d, [{ id, type, accountId: `ACME-${seq}`, runId: "run_webhook_test", payload: payload ?? tierChange(`ACME-${seq}`) }]));
  return id;
}

async function deliveryOf(endpointId: string, eventId: string): Promise<DeliveryView> {
  const r = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE endpoint_id = ?1 AND event_id = ?2").bind(endpointId, eventId).first<Record<string, unknown>>();
  expect(r, `no delivery of ${eventId} to ${endpointId}`).not.toBeNull();
  return {
    id: r!.id as string,
    eventId: r!.event_id as string,
    eventType: r!.event_type as string,
    status: r!.status as string,
    attempts: r!.attempts as number,
    lastStatusCode: r!.last_status_code as number | null,
    lastError: r!.last_error as string | null,
    attemptLog: JSON.parse(r!.attempt_log as string) as LogEntry[],
    createdAt: r!.created_at as string,
    deliveredAt: r!.delivered_at as string | null,
    nextAttemptAt: r!.next_attempt_at as string | null,
  };
}

async function deliveryById(id: string): Promise<DeliveryView> {
  const r = await env.DB.prepare("SELECT endpoint_id, event_id FROM webhook_deliveries WHERE id = ?1").bind(id).first<{ endpoint_id: string; event_id: string }>();
  return deliveryOf(r!.endpoint_id, r!.event_id);
}

/** Makes a scheduled retry due now, as if its time had come. */
async function makeDue(deliveryId: string): Promise<void> {
  await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1").bind(deliveryId, new Date(Date.now() - 1000).toISOString()).run();
}

let msgSeq = 0;
/** Hands one message to the Worker's queue handler, as Queues would; returns what it did with it. */
async function consume(deliveryId: string, opts: { queue?: string; attempts?: number; env?: Partial<Record<string, string>> } = {}) {
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

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  redirect: string | undefined;
}

/**
 * Stubs `fetch` for URLs under `prefix` with `answer` (other URLs go out for real) and records
 * each request; the stub is removed after the test.
 */
function receiver(prefix: string, answer: (n: number, req: Request) => Response | Promise<Response>): Received[] {
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

describe("webhook endpoints", () => {
  it("creates an endpoint with a whsec_ secret shown once, lists and reads it masked", async () => {
    const created = await createEndpoint({ url: "https://hooks.example.com/crud", events: ["account.risk_tier_changed", "rescore.completed", "rescore.completed"], description: "CRM" });
    expect(created.id).toMatch(/^wh_[0-9a-f]{24}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(atob(created.secret.slice(6))).toHaveLength(24);
    expect(created).toMatchObject({ url: "https://hooks.example.com/crud", events: ["account.risk_tier_changed", "rescore.completed"], kind: "standard", status: "enabled", description: "CRM", consecutiveFailures: 0, disabledReason: null });

    const one = await getEndpoint(created.id);
    expect(one.secret).toBe(`${created.secret.slice(0, 10)}…`);
    const list = await call("GET", "/v1/webhooks", { key: admin });
    expect(list.status).toBe(200);
    const text = await list.text();
    expect(text).not.toContain(created.secret);
    const listed = (JSON.parse(text) as { webhooks: Endpoint[] }).webhooks.find((w) => w.id === created.id)!;
    expect(listed.secret).toBe(one.secret);
    // Two secrets are never the same.
    expect((await createEndpoint({ url: "https://hooks.example.com/crud2", events: ["*"] })).secret).not.toBe(created.secret);
  });

  it("validates fields, naming each one", async () => {
    const cases: [body: unknown, field: string][] = [
      [{ events: ["*"] }, "url"],
      [{ url: "https://hooks.example.com/x" }, "events"],
      [{ url: "https://hooks.example.com/x", events: [] }, "events"],
      [{ url: "https://hooks.example.com/x", events: ["account.risk_tier_changed", "account.deleted"] }, "events[1]"],
      [{ url: "https://hooks.example.com/x", events: ["*"], kind: "teams" }, "kind"],
      [{ url: "https://hooks.example.com/x", events: ["*"], description: "d".repeat(501) }, "description"],
      [{ url: 42, events: ["*"] }, "url"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/v1/webhooks", { key: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await problemOf(res)).errors!.map((e) => e.field)).toContain(field);
    }
    const malformed = await call("POST", "/v1/webhooks", { key: admin, raw: "{nope" });
    expect(malformed.status).toBe(400);
  });

  it("refuses URLs the SSRF guard refuses, on create and on update, naming url", async () => {
    for (const url of [
      "http://hooks.example.com/plain-http",
      "https://10.0.0.8/hook",
      "https://169.254.169.254/latest/meta-data/",
      "https://[::ffff:127.0.0.1]/",
      "https://2130706433/",
      "https://0x7f000001/",
      "https://0177.0.0.1/",
      "https://metadata.google.internal/",
      "https://user:pw@hooks.example.com/",
      "https://api.localhost/",
      "http://127.0.0.2:8787/",
    ]) {
      const res = await call("POST", "/v1/webhooks", { key: admin, body: { url, events: ["*"] } });
      expect(res.status, url).toBe(422);
      const p = await problemOf(res);
      expect(p.errors, url).toEqual([{ field: "url", detail: expect.any(String) }]);
      expect(p.detail).toContain("not allowed");
    }
    const ep = await createEndpoint({ url: "https://hooks.example.com/ssrf", events: ["*"] });
    const res = await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { url: "https://192.168.0.10/hook" } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors).toEqual([{ field: "url", detail: expect.stringContaining("192.168.0.0/16") }]);
    expect((await getEndpoint(ep.id)).url).toBe("https://hooks.example.com/ssrf");
    // wrangler.toml's local setting allows loopback receivers over http (npm start's exception).
    expect((await createEndpoint({ url: "http://127.0.0.1:8787/hook", events: ["*"] })).url).toBe("http://127.0.0.1:8787/hook");
    expect((await createEndpoint({ url: "http://localhost:3000/hook", events: ["*"] })).url).toBe("http://localhost:3000/hook");
  });

  it("updates url, events, description and kind; disabling and re-enabling resets the failure count", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/patch", events: ["rescore.completed"] });
    const patched = await call("PATCH", `/v1/webhooks/${ep.id}`, {
      key: admin,
      body: { url: "https://hooks.example.com/patched", events: ["*", "rescore.completed"], description: "Slack #cs", kind: "slack" },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ url: "https://hooks.example.com/patched", events: ["*"], description: "Slack #cs", kind: "slack", status: "enabled" });

    const off = await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "disabled" } })).json<Endpoint>();
    expect(off).toMatchObject({ status: "disabled", disabledReason: "disabled with PATCH" });
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 3, disabled_reason = '3 deliveries in a row failed every retry' WHERE id = ?1").bind(ep.id).run();
    const on = await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "enabled" } })).json<Endpoint>();
    expect(on).toMatchObject({ status: "enabled", disabledReason: null, consecutiveFailures: 0, description: "Slack #cs" });
    // description: null clears it; an empty patch is refused.
    expect((await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { description: null } })).json<Endpoint>()).description).toBeNull();
    const empty = await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: {} });
    expect(empty.status).toBe(422);
    expect((await problemOf(empty)).errors![0].field).toBe("body");
    const badStatus = await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "paused" } });
    expect((await problemOf(badStatus)).errors![0].field).toBe("status");
  });

  it("re-enabling checks the stored URL again", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/recheck", events: ["*"] });
    await env.DB.prepare("UPDATE webhook_endpoints SET url = 'https://10.1.2.3/', status = 'disabled' WHERE id = ?1").bind(ep.id).run();
    const res = await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "enabled" } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors![0].field).toBe("url");
  });

  it("rotates the secret: the new one is returned in full and signs from then on", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/rotate", events: ["account.risk_tier_changed"] });
    const res = await call("POST", `/v1/webhooks/${ep.id}/rotate-secret`, { key: admin });
    expect(res.status).toBe(200);
    const { id, secret } = await res.json<{ id: string; secret: string }>();
    expect(id).toBe(ep.id);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(secret).not.toBe(ep.secret);
    expect((await getEndpoint(ep.id)).secret).toBe(`${secret.slice(0, 10)}…`);

    const seen = receiver("https://hooks.example.com/rotate", () => new Response("ok"));
    const evt = await newEvent();
    expect((await consume((await deliveryOf(ep.id, evt)).id)).acked).toBe(true);
    expect(seen).toHaveLength(1);
    expect(() => new Webhook(secret).verify(seen[0].body, seen[0].headers)).not.toThrow();
    expect(() => new Webhook(ep.secret).verify(seen[0].body, seen[0].headers)).toThrow(/No matching signature/);
  });

  it("deletes an endpoint with its log; unknown and malformed ids are 404 and 422", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/delete", events: ["account.risk_tier_changed"] });
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    const del = await call("DELETE", `/v1/webhooks/${ep.id}`, { key: admin });
    expect(del.status).toBe(204);
    expect((await call("GET", `/v1/webhooks/${ep.id}`, { key: admin })).status).toBe(404);
    const again = await call("DELETE", `/v1/webhooks/${ep.id}`, { key: admin });
    expect(again.status).toBe(404);
    expect((await problemOf(again)).errors![0].field).toBe("id");
    expect(await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?1").bind(ep.id).first("n")).toBe(0);
    // A message still queued for a deleted endpoint's delivery is acknowledged and does nothing.
    expect(await consume(dlv.id)).toMatchObject({ acked: true, retried: false });
    const bad = await call("GET", "/v1/webhooks/nope", { key: admin });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors![0].field).toBe("params.id");
  });

  it("needs the admin scope", async () => {
    const scorer = await createKey(["score", "ingest"]);
    for (const [method, path] of [
      ["GET", "/v1/webhooks"],
      ["POST", "/v1/webhooks"],
      ["GET", "/v1/webhooks/wh_000000000000000000000000/deliveries"],
      ["DELETE", "/v1/webhooks/wh_000000000000000000000000"],
    ] as const) {
      expect((await call(method, path, { key: scorer, body: method === "POST" ? { url: "https://hooks.example.com/", events: ["*"] } : undefined })).status, path).toBe(403);
      expect((await call(method, path)).status, path).toBe(401);
    }
  });
});

describe("delivery", () => {
  it("signs Standard Webhooks deliveries that the standardwebhooks package verifies, and records success", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/ok", events: ["account.risk_tier_changed"] });
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 2 WHERE id = ?1").bind(ep.id).run();
    const seen = receiver("https://hooks.example.com/ok", () => new Response("thanks", { status: 200 }));
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    expect(dlv.status).toBe("pending");
    expect(await consume(dlv.id)).toMatchObject({ acked: true, retried: false });

    expect(seen).toHaveLength(1);
    const [req] = seen;
    expect(req.headers["webhook-id"]).toBe(evt);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(Math.abs(Number(req.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(5);
    expect(req.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(req.redirect).toBe("manual");
    const verified = new Webhook(ep.secret).verify(req.body, req.headers) as { type: string; timestamp: string; data: ReturnType<typeof tierChange> };
    expect(verified.type).toBe("account.risk_tier_changed");
    expect(Date.parse(verified.timestamp)).not.toBeNaN();
    expect(verified.data).toMatchObject({ previousTier: "green", tier: "red", churnProbability: 0.83 });
    // A tampered body fails verification.
    expect(() => new Webhook(ep.secret).verify(req.body.replace("0.83", "0.01"), req.headers)).toThrow();

    const after = await deliveryOf(ep.id, evt);
    expect(after).toMatchObject({ status: "succeeded", attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(after.deliveredAt).not.toBeNull();
    expect(after.attemptLog).toEqual([{ at: expect.any(String), attempt: 1, status: 200, ms: expect.any(Number) }]);
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(0);

    // The same message again (Queues deliver at least once): acknowledged, nothing sent.
    expect(await consume(dlv.id, { attempts: 2 })).toMatchObject({ acked: true, retried: false });
    expect(seen).toHaveLength(1);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM events WHERE id = ?1").bind(evt).first("n")).toBe(1);
  });

  it("schedules a retry after a network error to an unreachable receiver, with the first delay of the schedule", async () => {
    // A real fetch to a closed local port (loopback is allowed by the local config).
    const ep = await createEndpoint({ url: "http://127.0.0.1:9/unreachable", events: ["account.risk_tier_changed"] });
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    const before = Date.now();
    const r = await consume(dlv.id);
    expect(r.acked).toBe(false);
    expect(r.retried).toBe(true);
    // 5 s ±10%, in whole seconds.
    expect(r.delaySeconds).toBeGreaterThanOrEqual(4);
    expect(r.delaySeconds).toBeLessThanOrEqual(6);
    const after = await deliveryOf(ep.id, evt);
    expect(after).toMatchObject({ status: "retrying", attempts: 1, lastStatusCode: null });
    expect(after.lastError).toMatch(/^network error/);
    const due = Date.parse(after.nextAttemptAt!) - before;
    expect(due).toBeGreaterThanOrEqual(r.delaySeconds! * 1000 - 50);
    expect(due).toBeLessThan(r.delaySeconds! * 1000 + 2000);

    // The retried message arriving before its time goes back for what remains, without an attempt.
    const early = await consume(dlv.id, { attempts: 2 });
    expect(early.retried).toBe(true);
    expect(early.delaySeconds).toBeLessThanOrEqual(r.delaySeconds!);
    expect((await deliveryOf(ep.id, evt)).attempts).toBe(1);

    // Once due, the second attempt fails too and waits the second step (5 min ±10%).
    await makeDue(dlv.id);
    const second = await consume(dlv.id, { attempts: 3 });
    expect(second.delaySeconds).toBeGreaterThanOrEqual(270);
    expect(second.delaySeconds).toBeLessThanOrEqual(330);
    const log = (await deliveryOf(ep.id, evt)).attemptLog;
    expect(log.map((e) => [e.attempt, e.status])).toEqual([
      [1, null],
      [2, null],
    ]);
    expect(log.every((e) => /^network error/.test(e.error ?? ""))).toBe(true);
  });

  it("retries 5xx and other statuses, honouring Retry-After in seconds or as a date when it is later", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/busy", events: ["account.risk_tier_changed"] });
    const answers = [
      new Response("overloaded", { status: 503, headers: { "retry-after": "120" } }),
      new Response("slow down", { status: 429, headers: { "retry-after": new Date(Date.now() + 2 * 3600_000).toUTCString() } }),
      new Response("nope", { status: 500, headers: { "retry-after": "1" } }),
      new Response(null, { status: 302, headers: { location: "http://169.254.169.254/" } }),
    ];
    receiver("https://hooks.example.com/busy", (n) => answers[n - 1]);
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);

    const first = await consume(dlv.id);
    expect(first.delaySeconds).toBe(120); // later than the schedule's 5 s
    let row = await deliveryOf(ep.id, evt);
    expect(row).toMatchObject({ status: "retrying", lastStatusCode: 503, lastError: "HTTP 503: overloaded" });

    await makeDue(dlv.id);
    const second = await consume(dlv.id);
    expect(second.delaySeconds).toBeGreaterThanOrEqual(7190); // the date, 2 h away, beats 5 min
    expect(second.delaySeconds).toBeLessThanOrEqual(7201);

    await makeDue(dlv.id);
    const third = await consume(dlv.id);
    expect(third.delaySeconds).toBeGreaterThanOrEqual(1620); // the schedule's 30 min beats Retry-After: 1
    expect(third.delaySeconds).toBeLessThanOrEqual(1980);

    await makeDue(dlv.id);
    await consume(dlv.id);
    row = await deliveryOf(ep.id, evt);
    expect(row.lastStatusCode).toBe(302);
    expect(row.lastError).toBe("HTTP 302: redirects are not followed");
    expect(row.attemptLog.map((e) => e.status)).toEqual([503, 429, 500, 302]);
    expect(row.attempts).toBe(4);
  });

  it("chains waits longer than Queues' 12 h cap, re-checking next_attempt_at on each arrival", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/long", events: ["account.risk_tier_changed"] });
    const seen = receiver("https://hooks.example.com/long", () => new Response("down", { status: 500 }));
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    const fourteenHours = { WEBHOOK_RETRY_SCHEDULE: "50400" };
    const first = await consume(dlv.id, { env: fourteenHours });
    expect(first.delaySeconds).toBe(43_200);
    const wait = Date.parse((await deliveryOf(ep.id, evt)).nextAttemptAt!) - Date.now();
    expect(wait / 1000).toBeGreaterThan(50_400 * 0.9 - 5);
    expect(wait / 1000).toBeLessThan(50_400 * 1.1 + 5);

    // 12 h later the message arrives with ~2 h still to go: it goes back for those 2 h, no attempt.
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1").bind(dlv.id, new Date(Date.now() + 7200_000).toISOString()).run();
    const hop = await consume(dlv.id, { attempts: 2, env: fourteenHours });
    expect(hop.delaySeconds).toBeGreaterThanOrEqual(7199);
    expect(hop.delaySeconds).toBeLessThanOrEqual(7200);
    expect(seen).toHaveLength(1);
    expect((await deliveryOf(ep.id, evt)).attempts).toBe(1);

    // A Retry-After beyond 12 h is honoured up to 12 h.
    const ep2 = await createEndpoint({ url: "https://hooks.example.com/gone-for-days", events: ["account.risk_tier_changed"] });
    vi.restoreAllMocks();
    receiver("https://hooks.example.com/gone-for-days", () => new Response(null, { status: 503, headers: { "retry-after": "259200" } }));
    const evt2 = await newEvent();
    const r2 = await consume((await deliveryOf(ep2.id, evt2)).id);
    expect(r2.delaySeconds).toBe(43_200);
  });

  it("disables the endpoint on 410 Gone and fails its pending deliveries with 'endpoint disabled'", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/gone", events: ["account.risk_tier_changed"] });
    const seen = receiver("https://hooks.example.com/gone", () => new Response("unsubscribed", { status: 410 }));
    const evt1 = await newEvent();
    const evt2 = await newEvent();
    const first = await deliveryOf(ep.id, evt1);
    const second = await deliveryOf(ep.id, evt2);
    expect(await consume(first.id)).toMatchObject({ acked: true, retried: false });
    expect(await deliveryOf(ep.id, evt1)).toMatchObject({ status: "failed", lastStatusCode: 410, attempts: 1 });
    const endpoint = await getEndpoint(ep.id);
    expect(endpoint.status).toBe("disabled");
    expect(endpoint.disabledReason).toMatch(/410 Gone/);

    expect(await consume(second.id)).toMatchObject({ acked: true, retried: false });
    const settled = await deliveryOf(ep.id, evt2);
    expect(settled).toMatchObject({ status: "failed", lastError: "endpoint disabled", attempts: 0 });
    expect(settled.attemptLog.at(-1)).toMatchObject({ note: "endpoint disabled" });
    expect(seen).toHaveLength(1);
    // New events are not delivered to a disabled endpoint at all.
    const evt3 = await newEvent();
    expect(await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?1 AND event_id = ?2").bind(ep.id, evt3).first("n")).toBe(0);
  });

  it("dead-letters a delivery whose schedule is exhausted; the DLQ consumer records it once", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/always-500", events: ["account.risk_tier_changed"] });
    const seen = receiver("https://hooks.example.com/always-500", () => new Response("broken", { status: 500 }));
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    const fast = { WEBHOOK_RETRY_SCHEDULE: "1,2" };
    expect((await consume(dlv.id, { env: fast })).delaySeconds).toBe(1);
    await makeDue(dlv.id);
    expect((await consume(dlv.id, { env: fast })).delaySeconds).toBe(2);
    await makeDue(dlv.id);
    // The third attempt is the last: dead, handed to the dead-letter queue, and this message acknowledged.
    expect(await consume(dlv.id, { env: fast })).toMatchObject({ acked: true, retried: false });
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.headers["webhook-id"]))).toEqual(new Set([evt]));
    for (const s of seen) expect(() => new Webhook(ep.secret).verify(s.body, s.headers)).not.toThrow();
    const dead = await deliveryOf(ep.id, evt);
    expect(dead).toMatchObject({ status: "dead", attempts: 3, lastStatusCode: 500, nextAttemptAt: null });
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(1);

    // The real local dead-letter queue's consumer notes it in the log.
    let log: LogEntry[] = [];
    for (let i = 0; i < 50 && log.at(-1)?.note !== "dead-lettered"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      log = (await deliveryOf(ep.id, evt)).attemptLog;
    }
    expect(log.map((e) => e.note ?? e.status)).toEqual([500, 500, 500, "dead-lettered"]);
    // Again through the DLQ handler, and through the main queue: nothing changes, nothing is sent.
    expect(await consume(dlv.id, { queue: "foresight-webhooks-dlq" })).toMatchObject({ acked: true });
    expect(await consume(dlv.id, { attempts: 4 })).toMatchObject({ acked: true, retried: false });
    expect((await deliveryOf(ep.id, evt)).attemptLog).toHaveLength(4);
    expect(seen).toHaveLength(3);
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(1);

    // The delivery log route shows it.
    const page = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?status=dead`, { key: admin })).json<{ deliveries: DeliveryView[] }>();
    expect(page.deliveries).toEqual([expect.objectContaining({ id: dlv.id, eventId: evt, status: "dead", attempts: 3, lastStatusCode: 500 })]);
    expect(page.deliveries[0].attemptLog.at(-1)).toMatchObject({ note: "dead-lettered" });
  });

  it("marks dead a delivery the queue itself gave up on (max_retries), counting it against the endpoint", async () => {
    const ep = await createEndpoint({ url: "http://127.0.0.1:9/queue-gave-up", events: ["account.risk_tier_changed"] });
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    await consume(dlv.id); // one real failed attempt: retrying
    expect(await consume(dlv.id, { queue: "foresight-webhooks-dlq" })).toMatchObject({ acked: true });
    const dead = await deliveryOf(ep.id, evt);
    expect(dead).toMatchObject({ status: "dead", nextAttemptAt: null });
    expect(dead.attemptLog.at(-1)).toMatchObject({ note: "dead-lettered" });
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(1);
  });

  it("disables an endpoint after 3 dead deliveries in a row; a success in between resets the count", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/flaky-for-days", events: ["account.risk_tier_changed"] });
    let healthy = false;
    receiver("https://hooks.example.com/flaky-for-days", () => new Response(null, { status: healthy ? 204 : 500 }));
    const once = { WEBHOOK_RETRY_SCHEDULE: "1" };
    const killOne = async () => {
      const dlv = await deliveryOf(ep.id, await newEvent());
      await consume(dlv.id, { env: once });
      await makeDue(dlv.id);
      await consume(dlv.id, { env: once });
      expect((await deliveryById(dlv.id)).status).toBe("dead");
    };
    await killOne();
    await killOne();
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(2);
    healthy = true;
    const ok = await deliveryOf(ep.id, await newEvent());
    await consume(ok.id, { env: once });
    expect((await deliveryById(ok.id)).status).toBe("succeeded");
    expect((await getEndpoint(ep.id)).consecutiveFailures).toBe(0);
    healthy = false;
    await killOne();
    await killOne();
    expect(await getEndpoint(ep.id)).toMatchObject({ status: "enabled", consecutiveFailures: 2 });
    await killOne();
    const off = await getEndpoint(ep.id);
    expect(off).toMatchObject({ status: "disabled", consecutiveFailures: 3 });
    expect(off.disabledReason).toMatch(/^3 deliveries in a row failed every retry/);
  });

  it("refuses at delivery time a URL the guard no longer allows, disabling the endpoint", async () => {
    const seen = receiver("http", () => new Response("should not be called"));
    const ep = await createEndpoint({ url: "https://hooks.example.com/moved", events: ["account.risk_tier_changed"] });
    // Changed behind the API's back (or allowed under an older rule).
    await env.DB.prepare("UPDATE webhook_endpoints SET url = 'https://169.254.169.254/latest/meta-data/' WHERE id = ?1").bind(ep.id).run();
    const evt = await newEvent();
    expect(await consume((await deliveryOf(ep.id, evt)).id)).toMatchObject({ acked: true, retried: false });
    const dlv = await deliveryOf(ep.id, evt);
    expect(dlv).toMatchObject({ status: "failed", attempts: 0 });
    expect(dlv.lastError).toMatch(/^url refused: .*link-local/);
    const endpoint = await getEndpoint(ep.id);
    expect(endpoint.status).toBe("disabled");
    expect(endpoint.disabledReason).toMatch(/url refused/);

    // A loopback receiver is refused once WEBHOOK_ALLOW_LOOPBACK is off (as in production).
    const local = await createEndpoint({ url: "http://127.0.0.1:8787/local", events: ["account.risk_tier_changed"] });
    const evt2 = await newEvent();
    await consume((await deliveryOf(local.id, evt2)).id, { env: { WEBHOOK_ALLOW_LOOPBACK: "false" } });
    expect((await deliveryOf(local.id, evt2)).lastError).toMatch(/^url refused: .*must use https/);
    expect(seen).toHaveLength(0);
  });

  it("formats Slack endpoints' deliveries as a Slack message, still signed", async () => {
    const ep = await createEndpoint({ url: "https://hooks.slack.com/services/T0/B0/xyz", events: ["account.risk_tier_changed", "rescore.completed", "model.drift_detected"], kind: "slack" });
    const seen = receiver("https://hooks.slack.com/", () => new Response("ok"));
    const evt = await newEvent();
    await consume((await deliveryOf(ep.id, evt)).id);
    const run = await newEvent("rescore.completed", {
      runId: "run_slack",
      trigger: "cron",
      modelVersion: "churn-test",
      accounts: 7043,
      scored: 7043,
      tierChanges: 12,
      portfolio: { tiers: { red: { accounts: 500, arr: 600_000 }, yellow: { accounts: 900, arr: 800_000 }, green: { accounts: 5000, arr: 4_000_000 }, blue: { accounts: 643, arr: 700_000 } }, arrAtRisk: 1_234_567 },
    });
    await consume((await deliveryOf(ep.id, run)).id);
    // Shaped like monitoring's payload (workers/monitoring/job.ts).
    const drift = await newEvent("model.drift_detected", {
      modelVersion: "churn-test",
      computedAt: "2026-11-22T03:17:00.000Z",
      summary: "Drift against the training data on 7043 live accounts: 1 signal(s) shifted (tenure PSI 0.31) (alert above PSI 0.2).",
      threshold: 0.2,
      driftAccounts: 7043,
      maxFeaturePsi: 0.31,
      predictionPsi: 0.08,
      drifted: [{ feature: "tenure", psi: 0.31 }],
      recommendation: { action: "retrain", reason: "The portfolio no longer looks like the training data.", commands: ["npm run export-training -- --as-of 2026-08-24 --horizon 90 --out churn-2026-08-24.csv"], then: "Shadow it, compare, then activate." },
    });
    await consume((await deliveryOf(ep.id, drift)).id);
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(() => new Webhook(ep.secret).verify(s.body, s.headers)).not.toThrow();
    const [change, summary, alert] = seen.map((s) => JSON.parse(s.body) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] }[] });
    expect(change.text).toBe("Acme <Corp> & Co moved from green to red risk: churn probability 21% → 83%");
    const all = JSON.stringify(change.blocks);
    expect(change.blocks[0].text!.text).toContain("*Acme &lt;Corp&gt; &amp; Co*");
    expect(all).toContain("month-to-month contract raises risk");
    expect(all).toContain("*Next action*");
    expect(all).toContain("$120,000");
    expect(all).toContain("Avery Chen");
    expect(all).toContain(evt);
    expect(summary.text).toBe("Rescoring run_slack completed: 7043 of 7043 accounts scored, 12 tier change(s)");
    expect(JSON.stringify(summary.blocks)).toContain("$1,234,567");
    expect(alert.text).toBe("Model churn-test: drift detected. Drift against the training data on 7043 live accounts: 1 signal(s) shifted (tenure PSI 0.31) (alert above PSI 0.2).");
    const alertBlocks = JSON.stringify(alert.blocks);
    expect(alertBlocks).toContain("tenure: PSI 0.31");
    expect(alertBlocks).toContain("npm run export-training -- --as-of 2026-08-24");
    expect(alertBlocks).toContain("*maxFeaturePsi*\\n0.310");
  });

  it("is delivered by the real local queue once enqueued", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/queued", events: ["rescore.completed"] });
    const seen = receiver("https://hooks.example.com/queued", () => new Response("ok"));
    const evt = await newEvent("rescore.completed", { runId: "run_q" });
    expect(await enqueuePendingDeliveries(env, [evt])).toBe(1);
    let dlv = await deliveryOf(ep.id, evt);
    for (let i = 0; i < 50 && dlv.status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      dlv = await deliveryOf(ep.id, evt);
    }
    expect(dlv).toMatchObject({ status: "succeeded", attempts: 1, lastStatusCode: 200 });
    expect(seen.map((s) => s.headers["webhook-id"])).toEqual([evt]);
  });
});

describe("delivery log and redelivery", () => {
  it("pages the log newest first and redelivers with the same event id", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/log", events: ["account.risk_tier_changed"] });
    const seen = receiver("https://hooks.example.com/log", () => new Response("ok"));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newEvent());
    for (const evt of ids) await consume((await deliveryOf(ep.id, evt)).id);
    expect(seen).toHaveLength(5);

    const first = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2`, { key: admin })).json<{ deliveries: DeliveryView[]; nextCursor: string | null }>();
    expect(first.deliveries.map((d) => d.eventId)).toEqual([ids[4], ids[3]]);
    expect(first.deliveries[0]).toMatchObject({ eventType: "account.risk_tier_changed", status: "succeeded", attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(first.deliveries[0].deliveredAt).not.toBeNull();
    expect(Object.keys(first.deliveries[0]).sort()).toEqual(["attemptLog", "attempts", "createdAt", "deliveredAt", "eventId", "eventType", "id", "lastError", "lastStatusCode", "nextAttemptAt", "status"]);
    const second = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2&cursor=${first.nextCursor}`, { key: admin })).json<{ deliveries: DeliveryView[]; nextCursor: string | null }>();
    expect(second.deliveries.map((d) => d.eventId)).toEqual([ids[2], ids[1]]);
    const third = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2&cursor=${second.nextCursor}`, { key: admin })).json<{ deliveries: DeliveryView[]; nextCursor: string | null }>();
    expect(third.deliveries.map((d) => d.eventId)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeNull();
    const badCursor = await call("GET", `/v1/webhooks/${ep.id}/deliveries?cursor=garbage`, { key: admin });
    expect(badCursor.status).toBe(422);
    expect((await problemOf(badCursor)).errors![0].field).toBe("cursor");
    expect((await call("GET", "/v1/webhooks/wh_000000000000000000000000/deliveries", { key: admin })).status).toBe(404);

    // Redeliver the oldest: the real queue sends it again with the same webhook-id.
    const target = third.deliveries[0];
    const res = await call("POST", `/v1/webhooks/${ep.id}/deliveries/${target.id}/redeliver`, { key: admin });
    expect(res.status).toBe(202);
    const queued = await res.json<DeliveryView>();
    expect(queued).toMatchObject({ id: target.id, eventId: ids[0], status: "pending", deliveredAt: null });
    expect(queued.attemptLog.at(-1)).toMatchObject({ note: "redelivery requested" });
    let row = await deliveryById(target.id);
    for (let i = 0; i < 50 && row.status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      row = await deliveryById(target.id);
    }
    expect(row).toMatchObject({ status: "succeeded", attempts: 2, lastStatusCode: 200 });
    expect(row.attemptLog.map((e) => e.note ?? e.attempt)).toEqual([1, "redelivery requested", 2]);
    expect(seen).toHaveLength(6);
    expect(seen[5].headers["webhook-id"]).toBe(ids[0]);
    expect(() => new Webhook(ep.secret).verify(seen[5].body, seen[5].headers)).not.toThrow();
    expect(seen[5].body).toBe(seen[0].body);
    // One event, however often it is delivered.
    expect(await env.DB.prepare("SELECT count(*) AS n FROM events WHERE id = ?1").bind(ids[0]).first("n")).toBe(1);
  });

  it("redelivers a dead delivery with a fresh schedule, and refuses in-flight ones and disabled endpoints", async () => {
    const ep = await createEndpoint({ url: "http://127.0.0.1:9/redeliver-dead", events: ["account.risk_tier_changed"] });
    const evt = await newEvent();
    const dlv = await deliveryOf(ep.id, evt);
    await consume(dlv.id); // retrying
    const inFlight = await call("POST", `/v1/webhooks/${ep.id}/deliveries/${dlv.id}/redeliver`, { key: admin });
    expect(inFlight.status).toBe(409);
    expect((await problemOf(inFlight)).errors).toEqual([{ field: "deliveryId", detail: "still retrying" }]);
    await consume(dlv.id, { queue: "foresight-webhooks-dlq" });
    expect((await deliveryOf(ep.id, evt)).status).toBe("dead");
    expect(attemptsInCycle((await deliveryOf(ep.id, evt)).attemptLog)).toBe(1);

    const res = await call("POST", `/v1/webhooks/${ep.id}/deliveries/${dlv.id}/redeliver`, { key: admin });
    expect(res.status).toBe(202);
    expect(attemptsInCycle((await res.json<DeliveryView>()).attemptLog)).toBe(0);
    // The real queue makes the attempt (the port is closed): retrying again from the schedule's start.
    let row = await deliveryById(dlv.id);
    for (let i = 0; i < 50 && row.status === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      row = await deliveryById(dlv.id);
    }
    expect(row).toMatchObject({ status: "retrying", attempts: 2 });
    const wait = (Date.parse(row.nextAttemptAt!) - Date.now()) / 1000;
    expect(wait).toBeLessThanOrEqual(6);

    const unknown = await call("POST", `/v1/webhooks/${ep.id}/deliveries/dlv_000000000000000000000000/redeliver`, { key: admin });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).errors![0].field).toBe("deliveryId");
    await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "disabled" } });
    await consume(dlv.id, { queue: "foresight-webhooks-dlq" });
    const disabled = await call("POST", `/v1/webhooks/${ep.id}/deliveries/${dlv.id}/redeliver`, { key: admin });
    expect(disabled.status).toBe(409);
    expect((await problemOf(disabled)).type).toBe("/problems/webhook-disabled");
  });
});

describe("schedule helpers", () => {
  it("defaults to about 3 days over 10 retries, and reads WEBHOOK_RETRY_SCHEDULE", () => {
    expect(retrySchedule({ WEBHOOK_RETRY_SCHEDULE: env.WEBHOOK_RETRY_SCHEDULE })).toEqual(DEFAULT_RETRY_SCHEDULE);
    const total = DEFAULT_RETRY_SCHEDULE.reduce((a, b) => a + b, 0);
    expect(total / 86_400).toBeGreaterThan(2.8);
    expect(total / 86_400).toBeLessThan(3.2);
    expect(DEFAULT_RETRY_SCHEDULE.slice(0, 7)).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(retrySchedule({ WEBHOOK_RETRY_SCHEDULE: "1, 1,1" })).toEqual([1, 1, 1]);
    expect(retrySchedule({})).toEqual(DEFAULT_RETRY_SCHEDULE);
    expect(retrySchedule({ WEBHOOK_RETRY_SCHEDULE: "5,soon" })).toEqual(DEFAULT_RETRY_SCHEDULE);
    expect(retrySchedule({ WEBHOOK_RETRY_SCHEDULE: "0" })).toEqual(DEFAULT_RETRY_SCHEDULE);
  });

  it("jitters by ±10% and parses Retry-After", () => {
    expect(withJitter(300, 0)).toBe(270);
    expect(withJitter(300, 1)).toBe(330);
    expect(withJitter(1, 0)).toBe(1);
    const now = Date.parse("2026-11-22T12:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Sun, 22 Nov 2026 13:00:00 GMT", now)).toBe(3600);
    expect(parseRetryAfter("Sun, 22 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
