/**
 * The daily CRM export with real D1, R2 and Queues: `POST /v1/exports` and the daily cron rescoring
 * run each start it through the export queue; the file lands in R2 at `exports/{day}/scores.csv.gz`
 * and gunzips to exactly what `GET /v1/exports/scores.csv` streams; `score_exports` records it;
 * `export.ready` reaches a webhook receiver with a link that downloads the file without a key; a
 * tampered or expired link is a 403, an unknown day a 404; one day is exported once; a failure is
 * recorded and the next message writes the day afresh; the 03:17 safety net exports a day nobody
 * exported.
 */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { RescoreStarted } from "../../../client/index";
import { sha256Hex } from "../../../shared/hash";
import worker from "../../../workers/index";
import { runExport } from "../../../workers/exports/job";
import { EXPORT_LINK_SETTING, linkKey, signExport } from "../../../workers/exports/links";
import { ensureDailyExport, exportKey } from "../../../workers/exports/queue";
import { PART_BYTES, uploadStream } from "../../../workers/exports/upload";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";
import { receiver } from "../webhooks/webhook-helpers";
import { csvObjects, gunzipText, ingestAndScore, rawText } from "./export-helpers";

const today = new Date().toISOString().slice(0, 10);
let admin: string;
let scorer: string;

interface ExportView {
  day: string;
  status: string;
  rows: number;
  bytes: number;
  sha256: string | null;
  runId: string | null;
  eventId: string | null;
  error: string | null;
  link: { path: string; url: string | null; expiresAt: string } | null;
}

async function exportsList(): Promise<ExportView[]> {
  const res = await call("GET", "/v1/exports", { key: scorer });
  expect(res.status).toBe(200);
  return (await res.json<{ exports: ExportView[] }>()).exports;
}

/** Polls GET /v1/exports until `day` is ready or failed. */
async function settled(day: string, timeoutMs = 30_000): Promise<ExportView> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const row = (await exportsList()).find((e) => e.day === day);
    if ((row && row.status !== "writing") || Date.now() > until) return row!;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Forgets a day's export (row, file, event), so a test can export it again. */
async function forget(day: string): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM score_exports WHERE day = ?1").bind(day), env.DB.prepare("DELETE FROM events WHERE type = 'export.ready' AND json_extract(payload, '$.day') = ?1").bind(day)]);
  await env.MODELS.delete(exportKey(day));
}

async function r2Text(day: string): Promise<{ text: string; bytes: ArrayBuffer }> {
  const object = await env.MODELS.get(exportKey(day));
  expect(object, `no R2 object for ${day}`).not.toBeNull();
  const bytes = await object!.arrayBuffer();
  return { text: await gunzipText(bytes), bytes };
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  scorer = await createKey(["score"]);
  await ingestAndScore(
    admin,
    Array.from({ length: 40 }, (_, i) => ({ id: `EXD-${String(i).padStart(2, "0")}`, name: i % 4 === 0 ? `Daily, "${i}"\nCo` : `Daily ${i}`, owner: "ana@cs.example", arr: 500 * (i + 1), features: i % 2 ? riskyCustomer : loyalCustomer })),
  );
}, 60_000);

afterEach(() => vi.restoreAllMocks());

describe("POST /v1/exports and the export queue", () => {
  it("writes today's file to R2, records it, and sends export.ready with a link that downloads it without a key", async () => {
    const hook = await call("POST", "/v1/webhooks", { key: admin, body: { url: "https://crm.example.com/foresight", events: ["export.ready"] } });
    expect(hook.status).toBe(201);
    const received = receiver("https://crm.example.com/", () => new Response("ok"));

    const started = await call("POST", "/v1/exports", { key: admin });
    expect(started.status).toBe(202);
    expect(await started.json()).toEqual({ day: today, status: "queued" });
    const done = await settled(today);
    expect(done).toMatchObject({ day: today, status: "ready", runId: null, error: null });

    // The file is the stream, gzipped: the same bytes once gunzipped.
    const streamed = await rawText(await call("GET", "/v1/exports/scores.csv", { key: scorer }));
    const { text, bytes } = await r2Text(today);
    expect(text).toBe(streamed);
    expect(done.rows).toBe(csvObjects(text.slice(1)).rows.length);
    expect(done.rows).toBe((await env.DB.prepare("SELECT count(*) AS n FROM accounts WHERE score_id IS NOT NULL").first<{ n: number }>())!.n);
    expect(done.bytes).toBe(bytes.byteLength);
    expect(done.sha256).toBe(await sha256Hex(bytes));

    // The receiver gets export.ready with the figures and a link.
    const until = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBe(1);
    const event = JSON.parse(received[0].body) as { type: string; data: Record<string, unknown> & { path: string; url: string | null; expiresAt: string } };
    expect(event.type).toBe("export.ready");
    expect(event.data).toMatchObject({ day: today, rows: done.rows, bytes: done.bytes, sha256: done.sha256, format: "csv", compression: "gzip", url: null });
    expect(received[0].headers["webhook-id"]).toBe(done.eventId);
    expect(Date.parse(event.data.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

    // The link works without a key; the download is the R2 object, with its digest.
    const download = await call("GET", event.data.path);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/gzip");
    expect(download.headers.get("content-disposition")).toBe(`attachment; filename="foresight-scores-${today}.csv.gz"`);
    const downloaded = await download.arrayBuffer();
    expect(await sha256Hex(downloaded)).toBe(done.sha256);
    expect(download.headers.get("content-digest")).toBe(`sha-256=:${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest("SHA-256", downloaded))))}:`);
    expect(await gunzipText(downloaded)).toBe(streamed);
    // The list gives a fresh link that works too.
    expect((await call("GET", done.link!.path)).status).toBe(200);
    await call("PATCH", `/v1/webhooks/${(await hook.json<{ id: string }>()).id}`, { key: admin, body: { status: "disabled" } });
  });

  it("refuses a tampered or expired link (403), an unknown day (404) and malformed links (422)", async () => {
    const { link } = (await exportsList()).find((e) => e.day === today)!;
    const url = new URL(link!.path, "http://x");
    const expires = Number(url.searchParams.get("expires"));
    const sig = url.searchParams.get("sig")!;
    const tampered = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
    const key = await linkKey(env);
    const past = Math.floor(Date.now() / 1000) - 60;
    const cases: [string, number, string][] = [
      [`/v1/exports/${today}?expires=${expires}&sig=${tampered}`, 403, "query.sig"],
      [`/v1/exports/${today}?expires=${expires + 1}&sig=${sig}`, 403, "query.sig"],
      [`/v1/exports/2020-01-01?expires=${expires}&sig=${sig}`, 403, "query.sig"],
      [`/v1/exports/${today}?expires=${past}&sig=${await signExport(key, today, past)}`, 403, "query.expires"],
      [`/v1/exports/2020-01-01?expires=${expires}&sig=${await signExport(key, "2020-01-01", expires)}`, 404, "date"],
      [`/v1/exports/2026-02-30?expires=${expires}&sig=${sig}`, 422, "params.date"],
      [`/v1/exports/${today}?expires=soon&sig=${sig}`, 422, "query.expires"],
      [`/v1/exports/${today}?expires=${expires}`, 422, "query.sig"],
    ];
    for (const [path, status, field] of cases) {
      const res = await call("GET", path);
      expect(res.status, path).toBe(status);
      expect((await problemOf(res)).errors?.map((e) => e.field), path).toEqual([field]);
    }
    // Without a signature a key is needed: score or admin downloads, others may not.
    expect((await call("GET", `/v1/exports/${today}`)).status).toBe(401);
    expect((await call("GET", `/v1/exports/${today}`, { key: await createKey(["ingest"]) })).status).toBe(403);
    expect((await call("GET", `/v1/exports/${today}`, { key: scorer })).status).toBe(200);
    expect((await call("GET", "/v1/exports/2020-01-01", { key: scorer })).status).toBe(404);
    expect((await call("GET", "/v1/exports?limit=0", { key: scorer })).status).toBe(422);
    expect((await call("POST", "/v1/exports", { key: scorer })).status).toBe(403);
  });

  it("signs with EXPORT_LINK_SECRET when it is set, and links signed with the other key stop working", async () => {
    const withSecret = { ...env, EXPORT_LINK_SECRET: "a-secret-put-with-wrangler" } as Env;
    const fetchWith = async (e: Env, path: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://foresight.test${path}`), e, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    const expires = Math.floor(Date.now() / 1000) + 600;
    const bySecret = `/v1/exports/${today}?expires=${expires}&sig=${await signExport(await linkKey(withSecret), today, expires)}`;
    const byD1Key = `/v1/exports/${today}?expires=${expires}&sig=${await signExport(await linkKey(env), today, expires)}`;
    expect(bySecret).not.toBe(byD1Key);
    expect((await fetchWith(withSecret, bySecret)).status).toBe(200);
    expect((await fetchWith(withSecret, byD1Key)).status).toBe(403);
    expect((await fetchWith(env, bySecret)).status).toBe(403);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM settings WHERE key = ?1").bind(EXPORT_LINK_SETTING).first<{ n: number }>()).toEqual({ n: 1 });
  });

  it("exports a day once: asking again returns the ready export, and another message writes nothing", async () => {
    const before = (await exportsList()).find((e) => e.day === today)!;
    const again = await call("POST", "/v1/exports", { key: admin });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ day: today, status: "ready", sha256: before.sha256, eventId: before.eventId });
    expect(await runExport(env, { day: today, runId: null })).toEqual({ status: "skipped", reason: `the export of ${today} is ready` });
    const events = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE type = 'export.ready' AND json_extract(payload, '$.day') = ?1").bind(today).first<{ n: number }>();
    expect(events!.n).toBe(1);
  });
});

describe("what starts a day's export", () => {
  it("the daily cron rescoring run, when it completes (a run from POST /v1/rescore does not)", async () => {
    await forget(today);
    const manual = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
    expect((await waitForRun(admin, manual.runId)).status).toBe("completed");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await exportsList()).find((e) => e.day === today)).toBeUndefined();

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "0 2 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const run = await env.DB.prepare("SELECT id FROM rescore_runs WHERE trigger = 'cron' ORDER BY started_at DESC LIMIT 1").first<{ id: string }>();
    expect((await waitForRun(admin, run!.id)).status).toBe("completed");
    const done = await settled(today);
    expect(done).toMatchObject({ status: "ready", runId: run!.id });
    // It holds that run's scores.
    const { text } = await r2Text(today);
    const rows = csvObjects(text.slice(1)).rows.filter((r) => r.id.startsWith("EXD-"));
    const runScores = await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE run_id = ?1 AND scored_at IN (SELECT value FROM json_each(?2))").bind(run!.id, JSON.stringify(rows.map((r) => r.scored_at))).first<{ n: number }>();
    expect(runScores!.n).toBe(rows.length);
  }, 90_000);

  it("the 03:17 safety net, for a day with no export and no cron run under way", async () => {
    const day = "2026-03-04";
    const at = new Date(`${day}T03:17:00Z`);
    // A cron run still under way that day: its completion starts the export, so the net waits.
    await env.DB.prepare("INSERT INTO rescore_runs (id, trigger, status, model_version, started_at) VALUES ('run_net', 'cron', 'running', 'm', ?1)").bind(`${day}T02:00:00.000Z`).run();
    await ensureDailyExport(env, at);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await exportsList()).find((e) => e.day === day)).toBeUndefined();
    // The run failed: the net exports the day.
    await env.DB.prepare("UPDATE rescore_runs SET status = 'failed' WHERE id = 'run_net'").run();
    await ensureDailyExport(env, at);
    expect(await settled(day)).toMatchObject({ day, status: "ready", runId: null });
    // Once ready, it does nothing.
    const sent = vi.spyOn(env.EXPORT_QUEUE, "send");
    await ensureDailyExport(env, at);
    expect(sent).not.toHaveBeenCalled();
  });

  it("a failed export is recorded with its error, and the next message writes the day afresh", async () => {
    const day = "2026-03-05";
    // Parts of 100 bytes: R2 refuses to complete an upload whose parts are under 5 MiB.
    await expect(runExport(env, { day, runId: null }, new Date(), 100)).rejects.toThrow();
    const failed = (await exportsList()).find((e) => e.day === day)!;
    expect(failed.status).toBe("failed");
    expect(failed.error).toBeTruthy();
    expect(failed.link).toBeNull();
    expect(await env.MODELS.head(exportKey(day))).toBeNull();

    const batch = createMessageBatch("foresight-exports", [{ id: "m1", timestamp: new Date(), attempts: 2, body: { day, runId: null } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);
    expect((await exportsList()).find((e) => e.day === day)).toMatchObject({ status: "ready", error: null });
  });
});

describe("a day another writer holds", () => {
  it("is looked at again later, and taken over once that writer's claim has gone stale", async () => {
    const day = "2026-03-06";
    await env.DB.prepare("INSERT INTO score_exports (day, r2_key, status, created_at) VALUES (?1, ?2, 'writing', ?3)").bind(day, exportKey(day), new Date().toISOString()).run();
    const deliver = async (id: string) => {
      const batch = createMessageBatch("foresight-exports", [{ id, timestamp: new Date(), attempts: 1, body: { day, runId: null } }]);
      const retry = vi.spyOn(batch.messages[0], "retry");
      const ctx = createExecutionContext();
      await worker.queue(batch, env, ctx);
      const result = await getQueueResult(batch, ctx);
      return { acked: result.explicitAcks.includes(id), delaySeconds: retry.mock.calls[0]?.[0]?.delaySeconds };
    };
    expect(await deliver("busy")).toEqual({ acked: false, delaySeconds: 600 });
    expect((await exportsList()).find((e) => e.day === day)!.status).toBe("writing");
    // Its writer died: 30 minutes on, nothing has changed the row.
    await env.DB.prepare("UPDATE score_exports SET created_at = ?2 WHERE day = ?1").bind(day, new Date(Date.now() - 30 * 60_000).toISOString()).run();
    expect(await deliver("stale")).toEqual({ acked: true, delaySeconds: undefined });
    expect((await exportsList()).find((e) => e.day === day)).toMatchObject({ status: "ready", error: null });
  });
});

describe("uploadStream", () => {
  it("uploads a stream of unknown length in 5 MiB parts, the object byte for byte with its sha256", async () => {
    const total = 2 * PART_BYTES + 123_457;
    const data = new Uint8Array(total);
    for (let at = 0; at < total; at += 65_536) crypto.getRandomValues(data.subarray(at, Math.min(total, at + 65_536)));
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= total) return controller.close();
        const n = Math.min(100_003, total - at);
        controller.enqueue(data.slice(at, at + n));
        at += n;
      },
    });
    const up = await uploadStream(env.MODELS, "exports/test/upload.bin", body);
    expect(up).toEqual({ bytes: total, sha256: await sha256Hex(data), parts: 3 });
    const stored = new Uint8Array(await (await env.MODELS.get("exports/test/upload.bin"))!.arrayBuffer());
    expect(stored.length).toBe(total);
    expect(await sha256Hex(stored)).toBe(up.sha256);
  });
});
