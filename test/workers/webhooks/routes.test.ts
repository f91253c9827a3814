/**
 * The /v1/webhooks routes inside workerd with real local D1 and Queues: CRUD, validation, the SSRF
 * guard, secret rotation, the admin scope, the delivery log and redelivery (the real local queue
 * sends again with the same webhook-id). Receivers are stubbed at `fetch`, except the unreachable
 * one, which is a real closed port.
 */
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { DeliveryLog, Redelivery, WebhookEndpoint, WebhookList, WebhookSecret } from "../../../client/index";
import { attemptsInCycle } from "../../../workers/webhooks/retry";
import { call, createKey, problemOf } from "../helpers";
import { admin, consume, createEndpoint, deliveryById, deliveryOf, getEndpoint, newEvent, receiver, setUpWebhookTests } from "./webhook-helpers";

setUpWebhookTests();

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
    const listed = (JSON.parse(text) as WebhookList).webhooks.find((w) => w.id === created.id)!;
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

    const off = await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "disabled" } })).json<WebhookEndpoint>();
    expect(off).toMatchObject({ status: "disabled", disabledReason: "disabled with PATCH" });
    await env.DB.prepare("UPDATE webhook_endpoints SET consecutive_failures = 3, disabled_reason = '3 deliveries in a row failed every retry' WHERE id = ?1").bind(ep.id).run();
    const on = await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { status: "enabled" } })).json<WebhookEndpoint>();
    expect(on).toMatchObject({ status: "enabled", disabledReason: null, consecutiveFailures: 0, description: "Slack #cs" });
    // description: null clears it; an empty patch is refused.
    expect((await (await call("PATCH", `/v1/webhooks/${ep.id}`, { key: admin, body: { description: null } })).json<WebhookEndpoint>()).description).toBeNull();
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
    const { id, secret } = await res.json<WebhookSecret>();
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

describe("delivery log and redelivery", () => {
  it("pages the log newest first and redelivers with the same event id", async () => {
    const ep = await createEndpoint({ url: "https://hooks.example.com/log", events: ["account.risk_tier_changed"] });
    const seen = receiver("https://hooks.example.com/log", () => new Response("ok"));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await newEvent());
    for (const evt of ids) await consume((await deliveryOf(ep.id, evt)).id);
    expect(seen).toHaveLength(5);

    const first = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2`, { key: admin })).json<DeliveryLog>();
    expect(first.deliveries.map((d) => d.eventId)).toEqual([ids[4], ids[3]]);
    expect(first.deliveries[0]).toMatchObject({ eventType: "account.risk_tier_changed", status: "succeeded", attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(first.deliveries[0].deliveredAt).not.toBeNull();
    expect(Object.keys(first.deliveries[0]).sort()).toEqual(["attemptLog", "attempts", "createdAt", "deliveredAt", "eventId", "eventType", "id", "lastError", "lastStatusCode", "nextAttemptAt", "status"]);
    const second = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2&cursor=${first.nextCursor}`, { key: admin })).json<DeliveryLog>();
    expect(second.deliveries.map((d) => d.eventId)).toEqual([ids[2], ids[1]]);
    const third = await (await call("GET", `/v1/webhooks/${ep.id}/deliveries?limit=2&cursor=${second.nextCursor}`, { key: admin })).json<DeliveryLog>();
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
    const queued = await res.json<Redelivery>();
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
    expect(attemptsInCycle((await res.json<Redelivery>()).attemptLog)).toBe(0);
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
