/**
 * Batch rescoring through the real runtime: POST /v1/rescore fans out over the local Queue,
 * the consumer scores every account, and tier changes become events. A crash mid-chunk is
 * resumed with no gaps and no duplicates.
 */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../workers/index";
import type { Account, RescoreStarted } from "../../../client/index";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";

let admin: string;

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  const accounts = Array.from({ length: 600 }, (_, i) => ({ id: `RS-${String(i).padStart(3, "0")}`, arr: 1000 + i, features: i % 4 === 0 ? riskyCustomer : loyalCustomer }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);
  expect((await call("POST", "/v1/score/batch", { key: admin, body: { rows: accounts.map((a) => ({ accountId: a.id })) } })).status).toBe(200);
});

describe("POST /v1/rescore", () => {
  it("rescores every account through the queue, records history, and emits one event per tier change", { timeout: 40_000 }, async () => {
    // A green account whose new signals make it red.
    await call("PATCH", "/v1/accounts/RS-001", { key: admin, body: { features: { tenure: 1, Contract: "Month-to-month", InternetService: "Fiber optic", PaymentMethod: "Electronic check", MonthlyCharges: 105, OnlineSecurity: "No", TechSupport: "No" } } });
    const res = await call("POST", "/v1/rescore", { key: admin });
    expect(res.status).toBe(202);
    const started = await res.json<RescoreStarted>();
    expect(started.runId).toMatch(/^run_/);
    const run = await waitForRun(admin, started.runId, 30_000);
    expect(run.status).toBe("completed");
    const total = (await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())!.n;
    expect(run.scored).toBe(total);
    expect(run.chunks.done).toBe(run.chunks.total);
    const perAccount = await env.DB.prepare("SELECT count(*) AS n, count(DISTINCT account_id) AS d FROM scores WHERE run_id = ?1").bind(started.runId).first<{ n: number; d: number }>();
    expect(perAccount).toEqual({ n: total, d: total });
    const events = await env.DB.prepare("SELECT id, type, account_id, payload FROM events WHERE run_id = ?1 ORDER BY type").bind(started.runId).all<{ id: string; type: string; account_id: string | null; payload: string }>();
    const changed = events.results.filter((e) => e.type === "account.risk_tier_changed");
    expect(changed.map((e) => e.account_id)).toEqual(["RS-001"]);
    const payload = JSON.parse(changed[0].payload) as { previousTier: string; tier: string; churnProbability: number; drivers: unknown[]; account: { id: string } };
    expect([payload.previousTier, payload.tier]).toEqual(["green", "red"]);
    expect(payload.drivers.length).toBeGreaterThan(0);
    expect(events.results.filter((e) => e.type === "rescore.completed")).toHaveLength(1);
    expect(run.tierChanges).toBe(1);
    const account = await (await call("GET", "/v1/accounts/RS-001", { key: admin })).json<Account>();
    expect(account.score).toMatchObject({ riskTier: "red", source: "rescore" });
  });

  it("needs the admin scope, and 404s an unknown run", async () => {
    const reader = await createKey(["score"]);
    expect((await call("POST", "/v1/rescore", { key: reader })).status).toBe(403);
    const res = await call("GET", "/v1/rescore/run_nope", { key: admin });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).errors![0].field).toBe("runId");
  });
});

describe("the daily cron", () => {
  it("starts a rescoring run through the scheduled handler, which the queue then completes", { timeout: 40_000 }, async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM rescore_runs WHERE trigger = 'cron'").first<{ n: number }>();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "0 2 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const run = await env.DB.prepare("SELECT id FROM rescore_runs WHERE trigger = 'cron' ORDER BY created_at DESC LIMIT 1").first<{ id: string }>();
    expect(before!.n).toBe(0);
    expect(run).not.toBeNull();
    const done = await waitForRun(admin, run!.id, 30_000);
    expect(done.status).toBe("completed");
    expect(done.scored).toBe((await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())!.n);
  });
});

describe("crash mid-chunk", () => {
  it("is resumed on retry with no gaps and no duplicate scores or events", async () => {
    // A run recorded by hand (not queued), so this test drives its one chunk itself.
    const runId = "run_fault_test";
    const version = (await env.DB.prepare("SELECT version FROM models WHERE status = 'active'").first<{ version: string }>())!.version;
    const total = (await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())!.n;
    const first = (await env.DB.prepare("SELECT min(id) AS id FROM accounts").first<{ id: string }>())!.id;
    await env.DB.batch([
      env.DB.prepare("INSERT INTO rescore_runs (id, trigger, status, model_version, accounts, chunks_total, started_at) VALUES (?1, 'test', 'running', ?2, ?3, 1, strftime('%Y-%m-%dT%H:%M:%fZ','now'))").bind(runId, version, total),
      env.DB.prepare("INSERT INTO rescore_chunks (run_id, chunk, from_id, to_id) VALUES (?1, 0, ?2, NULL)").bind(runId, first),
    ]);
    // Make two accounts change tier in this run, so events are at stake too.
    await call("PATCH", "/v1/accounts/RS-004", { key: admin, body: { features: loyalCustomer } });
    await call("PATCH", "/v1/accounts/RS-030", { key: admin, body: { features: riskyCustomer } });

    const message = { id: "m1", timestamp: new Date(), attempts: 1, body: { runId, chunk: 0, fault: "crash-mid-chunk" } };
    const batch1 = createMessageBatch("foresight-rescore", [message]);
    const ctx1 = createExecutionContext();
    await worker.queue(batch1, env, ctx1);
    const result1 = await getQueueResult(batch1, ctx1);
    expect(result1.explicitAcks).toEqual([]);
    expect(result1.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["m1"]);
    const partial = (await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE run_id = ?1").bind(runId).first<{ n: number }>())!.n;
    expect(partial).toBeGreaterThan(0); // the first write landed before the crash ...
    expect(partial).toBeLessThan(total); // ... and the rest did not

    const batch2 = createMessageBatch("foresight-rescore", [{ ...message, attempts: 2 }]);
    const ctx2 = createExecutionContext();
    await worker.queue(batch2, env, ctx2);
    expect((await getQueueResult(batch2, ctx2)).explicitAcks).toEqual(["m1"]);
    const after = await env.DB.prepare("SELECT count(*) AS n, count(DISTINCT account_id) AS d FROM scores WHERE run_id = ?1").bind(runId).first<{ n: number; d: number }>();
    expect(after).toEqual({ n: total, d: total });
    const run = await env.DB.prepare("SELECT status, scored FROM rescore_runs WHERE id = ?1").bind(runId).first();
    expect(run).toEqual({ status: "completed", scored: total });

    // Delivering the same message once more changes nothing.
    const batch3 = createMessageBatch("foresight-rescore", [{ ...message, attempts: 3 }]);
    const ctx3 = createExecutionContext();
    await worker.queue(batch3, env, ctx3);
    await getQueueResult(batch3, ctx3);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE run_id = ?1").bind(runId).first<{ n: number }>())!.n).toBe(total);
    const events = await env.DB.prepare("SELECT type, account_id FROM events WHERE run_id = ?1 AND type = 'account.risk_tier_changed' ORDER BY account_id").bind(runId).all();
    expect(events.results.map((e) => e.account_id)).toEqual(["RS-004", "RS-030"]);
  });
});
