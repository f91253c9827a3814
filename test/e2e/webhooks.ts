/**
 * Webhooks over real HTTP against `npm start`'s server (called from start.test.ts, which starts it
 * with FORESIGHT_WEBHOOK_RETRY_SCHEDULE=1,1,1 so retries take seconds). Three Node receivers on
 * 127.0.0.1 check every request with the `standardwebhooks` package:
 *
 * - `good` answers 200: a green account given risky signals and rescored through POST /v1/rescore
 *   reaches it as exactly one signed `account.risk_tier_changed` (green → red), shown as succeeded
 *   with 200 in the delivery log; a redelivery arrives with the same webhook-id.
 * - `flaky` answers 500 (Retry-After: 2) to the first try of each event and 200 after: every event
 *   is delivered successfully exactly once, the retry carrying the same webhook-id, no sooner than
 *   Retry-After asks.
 * - `broken` always answers 500: its deliveries end dead after 1 + 3 attempts and the dead-letter
 *   queue's consumer notes them in the log.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { expect } from "vitest";
import type { CreatedWebhook, DeliveryLog, Problem, RescoreRun, RescoreStarted, WebhookDelivery, WebhookEndpoint, Worklist } from "../../client/index";

/** The retry schedule start.test.ts gives `npm start`: three retries, a second apart. */
export const E2E_RETRY_SCHEDULE = "1,1,1";

interface Hit {
  id: string;
  timestamp: number;
  body: string;
  /** The verified payload, or the verification error. */
  payload: { type: string; timestamp: string; data: Record<string, unknown> } | null;
  error: string | null;
  answered: number;
  at: number;
}

interface Receiver {
  url: string;
  hits: Hit[];
  secret: string;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1 that verifies each request, then answers `answer(tries of this webhook-id)`. */
async function receiver(name: string, answer: (tries: number) => { status: number; headers?: Record<string, string> }): Promise<Receiver> {
  const r: Receiver = { url: "", hits: [], secret: "", close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = flat(req.headers);
      let payload: Hit["payload"] = null;
      let error: string | null = null;
      try {
        payload = new Webhook(r.secret).verify(body, headers) as Hit["payload"];
      } catch (e) {
        error = (e as Error).message;
      }
      const id = headers["webhook-id"] ?? "";
      const tries = r.hits.filter((h) => h.id === id).length + 1;
      // A receiver that cannot verify a request refuses it, as a real one would.
      const reply = error ? { status: 401 } : answer(tries);
      r.hits.push({ id, timestamp: Number(headers["webhook-timestamp"]), body, payload, error, answered: reply.status, at: Date.now() });
      res.writeHead(reply.status, { "content-type": "text/plain", ...(reply.headers ?? {}) });
      res.end(reply.status < 300 ? "ok" : `${name} says no`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${name}`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The id rescoring derives for a tier change (workers/webhooks/outbox.ts `eventId`). */
function tierChangeEventId(runId: string, accountId: string): string {
  return `evt_${createHash("sha256").update(`${runId}|${accountId}|account.risk_tier_changed`).digest("hex").slice(0, 24)}`;
}

export async function checkWebhooks(api: string, key: string): Promise<void> {
  const started = Date.now();
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const request = async <T>(method: string, path: string, body?: unknown, status = 200): Promise<T> => {
    const res = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    expect(res.status, `${method} ${path}: ${text}`).toBe(status);
    return (text ? JSON.parse(text) : null) as T;
  };

  // The SSRF guard over HTTP: the metadata address is refused, naming the field.
  const refused = await request<Problem>("POST", "/v1/webhooks", { url: "http://169.254.169.254/latest/meta-data/", events: ["*"] }, 422);
  expect(refused.errors!.map((e) => e.field)).toEqual(["url"]);

  const good = await receiver("good", () => ({ status: 200 }));
  const flaky = await receiver("flaky", (tries) => (tries === 1 ? { status: 500, headers: { "retry-after": "2" } } : { status: 200 }));
  const broken = await receiver("broken", () => ({ status: 500 }));
  const endpoints: string[] = [];
  try {
    const register = async (r: Receiver, events: string[]) => {
      const ep = await request<CreatedWebhook>("POST", "/v1/webhooks", { url: r.url, events, description: `e2e ${r.url}` }, 201);
      expect(ep.secret).toMatch(/^whsec_/);
      r.secret = ep.secret;
      endpoints.push(ep.id);
      return ep.id;
    };
    const goodId = await register(good, ["account.risk_tier_changed"]);
    const flakyId = await register(flaky, ["*"]);
    const brokenId = await register(broken, ["*"]);

    // The issue's "done when": a green account given risky signals, then a rescoring run.
    const { accounts } = await request<Worklist>("GET", "/v1/accounts?tier=green&limit=1");
    expect(accounts).toHaveLength(1);
    const account = accounts[0].id;
    expect(accounts[0].score!.riskTier).toBe("green");
    await request("PATCH", `/v1/accounts/${account}`, {
      features: { tenure: 1, Contract: "Month-to-month", InternetService: "Fiber optic", PaymentMethod: "Electronic check", MonthlyCharges: 105, OnlineSecurity: "No", TechSupport: "No" },
    });
    const rescoreStarted = Date.now();
    const run = await request<RescoreStarted>("POST", "/v1/rescore", undefined, 202);
    let status: RescoreRun;
    for (;;) {
      status = await request("GET", `/v1/rescore/${run.runId}`);
      if (status.status !== "running" && status.status !== "queued") break;
      expect(Date.now() - rescoreStarted, "rescoring took over 3 minutes").toBeLessThan(180_000);
      await sleep(250);
    }
    expect(status.status).toBe("completed");
    expect(status.scored).toBe(7043);
    // Rescoring unchanged accounts with the same model changes nothing: the one change is ours.
    expect(status.tierChanges).toBe(1);
    const rescoreMs = Date.now() - rescoreStarted;
    const eventId = tierChangeEventId(run.runId, account);
    // Entering red also recommends a playbook (account.playbook_recommended), unless the holdout drew it for the control group.
    const recommendation = await request<{ controlGroup: boolean; playbook: { tier: string } | null }>("GET", `/v1/accounts/${account}/recommendation`);
    const playbookEvents = recommendation.controlGroup ? 0 : 1;
    if (!recommendation.controlGroup) expect(recommendation.playbook?.tier).toBe("red");
    // What the "*" endpoints receive: the tier changes, the playbook recommendation and rescore.completed.
    const allEvents = status.tierChanges + playbookEvents + 1;

    // Every delivery settles: delivered, or dead with the dead-letter queue's note.
    const log = (id: string) => request<DeliveryLog>("GET", `/v1/webhooks/${id}/deliveries?limit=200`).then((p) => p.deliveries);
    const settled = (ds: WebhookDelivery[]) => ds.length > 0 && ds.every((d) => d.status === "succeeded" || (d.status === "dead" && d.attemptLog.at(-1)?.note === "dead-lettered"));
    let goodLog: WebhookDelivery[] = [];
    let flakyLog: WebhookDelivery[] = [];
    let brokenLog: WebhookDelivery[] = [];
    for (;;) {
      [goodLog, flakyLog, brokenLog] = await Promise.all([log(goodId), log(flakyId), log(brokenId)]);
      if (settled(goodLog) && settled(flakyLog) && settled(brokenLog) && brokenLog.length >= allEvents) break;
      expect(Date.now() - rescoreStarted - rescoreMs, `deliveries did not settle: ${JSON.stringify({ goodLog, flakyLog, brokenLog })}`).toBeLessThan(90_000);
      await sleep(250);
    }
    const settleMs = Date.now() - rescoreStarted - rescoreMs;
    // A moment more, so a stray duplicate would have time to show up.
    await sleep(1500);
    for (const r of [good, flaky, broken]) expect(r.hits.filter((h) => h.error), `${r.url}: unverified requests`).toEqual([]);

    // good: exactly one signed account.risk_tier_changed for the account, green → red.
    const mine = good.hits.filter((h) => h.payload?.type === "account.risk_tier_changed" && (h.payload.data.account as { id: string }).id === account);
    expect(mine).toHaveLength(1);
    expect(mine[0].id).toBe(eventId);
    expect(Math.abs(mine[0].timestamp - mine[0].at / 1000)).toBeLessThan(10);
    expect(mine[0].payload!.data).toMatchObject({ previousTier: "green", tier: "red", runId: run.runId, account: { id: account } });
    expect(mine[0].payload!.data.churnProbability as number).toBeGreaterThanOrEqual(0.7);
    expect((mine[0].payload!.data.drivers as unknown[]).length).toBeGreaterThan(0);
    // Every tier change of the run, and nothing else, reached it, once each.
    expect(good.hits).toHaveLength(status.tierChanges);
    expect(new Set(good.hits.map((h) => h.id)).size).toBe(good.hits.length);
    const goodDelivery = goodLog.find((d) => d.eventId === eventId)!;
    expect(goodDelivery).toMatchObject({ eventType: "account.risk_tier_changed", status: "succeeded", attempts: 1, lastStatusCode: 200 });
    expect(goodDelivery.deliveredAt).not.toBeNull();
    expect(goodLog).toHaveLength(status.tierChanges);

    // flaky: each event (the tier changes, the playbook recommendation and rescore.completed) failed once, then arrived once.
    const flakyIds = [...new Set(flaky.hits.map((h) => h.id))];
    expect(flakyIds).toHaveLength(allEvents);
    expect(flaky.hits.filter((h) => h.payload?.type === "account.playbook_recommended" && h.answered === 200)).toHaveLength(playbookEvents);
    expect(flakyIds).toContain(eventId);
    for (const id of flakyIds) {
      const tries = flaky.hits.filter((h) => h.id === id);
      expect(tries.map((h) => h.answered), id).toEqual([500, 200]);
      expect(tries[1].body).toBe(tries[0].body);
      expect(tries[1].at - tries[0].at, "Retry-After: 2 honoured").toBeGreaterThanOrEqual(2000);
    }
    expect(flaky.hits.filter((h) => h.payload?.type === "rescore.completed")).toHaveLength(2);
    for (const d of flakyLog) {
      expect(d).toMatchObject({ status: "succeeded", attempts: 2, lastStatusCode: 200 });
      expect(d.attemptLog.map((e) => e.status)).toEqual([500, 200]);
    }

    // broken: 1 + 3 attempts per event, all with the same webhook-id, then dead-lettered.
    expect(brokenLog).toHaveLength(allEvents);
    for (const d of brokenLog) {
      expect(d).toMatchObject({ status: "dead", attempts: 4, lastStatusCode: 500 });
      expect(d.attemptLog.map((e) => e.note ?? e.status)).toEqual([500, 500, 500, 500, "dead-lettered"]);
      expect(broken.hits.filter((h) => h.id === d.eventId)).toHaveLength(4);
    }
    const brokenEndpoint = await request<WebhookEndpoint>("GET", `/v1/webhooks/${brokenId}`);
    expect(brokenEndpoint).toMatchObject({ status: allEvents >= 3 ? "disabled" : "enabled", consecutiveFailures: Math.min(3, allEvents) });

    // A redelivery reaches good again with the same webhook-id, freshly signed.
    await request("POST", `/v1/webhooks/${goodId}/deliveries/${goodDelivery.id}/redeliver`, undefined, 202);
    for (let i = 0; good.hits.length < status.tierChanges + 1; i++) {
      expect(i, "the redelivery did not arrive").toBeLessThan(100);
      await sleep(100);
    }
    const again = good.hits.at(-1)!;
    expect(again.id).toBe(eventId);
    expect(again.body).toBe(mine[0].body);
    expect(again.error).toBeNull();
    let redelivered = (await log(goodId)).find((d) => d.id === goodDelivery.id)!;
    for (let i = 0; redelivered.status !== "succeeded" && i < 50; i++) {
      await sleep(100);
      redelivered = (await log(goodId)).find((d) => d.id === goodDelivery.id)!;
    }
    expect(redelivered).toMatchObject({ status: "succeeded", attempts: 2, lastStatusCode: 200 });
    expect(redelivered.attemptLog.map((e) => e.note ?? e.status)).toEqual([200, "redelivery requested", 200]);
    console.log(
      `[webhooks] rescoring 7043 accounts: ${rescoreMs} ms (${status.tierChanges} tier change(s)); every delivery settled ${settleMs} ms later; webhook checks took ${Date.now() - started} ms in all`,
    );
  } finally {
    for (const id of endpoints) await fetch(`${api}/v1/webhooks/${id}`, { method: "DELETE", headers }).catch(() => {});
    await Promise.all([good.close(), flaky.close(), broken.close()]);
  }
}
