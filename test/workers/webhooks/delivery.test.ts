/**
 * The webhook delivery consumer inside workerd with real local D1 and Queues, driven message by
 * message through `worker.queue`: signatures checked with the `standardwebhooks` package, retry
 * delays, Retry-After, chaining past Queues' 12 h cap, 410, exhaustion and the dead-letter queue,
 * auto-disable, idempotency, the URL guard at delivery time, the real local queue; and the retry
 * schedule helpers. Receivers are stubbed at `fetch` (test/e2e/start.test.ts does the same over
 * real HTTP), except the unreachable one, which is a real closed port.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import type { DeliveryLog, WebhookDelivery } from "../../../client/index";
import { enqueuePendingDeliveries } from "../../../workers/webhooks/outbox";
import { DEFAULT_RETRY_SCHEDULE, parseRetryAfter, retrySchedule, withJitter } from "../../../workers/webhooks/retry";
import { call } from "../helpers";
import { admin, consume, createEndpoint, deliveryById, deliveryOf, getEndpoint, makeDue, newEvent, receiver, setUpWebhookTests, type tierChange } from "./webhook-helpers";

setUpWebhookTests();

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
    let log: WebhookDelivery["attemptLog"] = [];
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
    const page = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?status=dead`, { key: admin })).json<DeliveryLog>();
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
