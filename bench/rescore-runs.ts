/**
 * The timed parts of `npm run bench:rescore` on a running server: a rescoring run followed to its
 * end, the baseline Worker writing the same rows without scoring, and the retention job range by
 * range.
 */
import type { RetentionCounts } from "../workers/retention/job";
import { f, mb, n0 } from "./format";
import { HOST, run } from "./processes";
import { PORTFOLIO_SEED, syntheticAccount } from "./rescore-data";
import type { RunFigures, SizeResult } from "./rescore-results";
import type { Server } from "./rescore-server";
import { CHUNK, log, STALL_SECONDS } from "./rescore-settings";

/** The JSON of a response; anything but 2xx fails the bench, naming `what`. */
async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/**
 * Starts a run with `POST /v1/rescore` and follows it by reading the run's rows in the local D1
 * file (read-only; SQLite's WAL lets a reader beside the writer) rather than polling the API: on
 * this local stack, HTTP requests arriving while a queue batch runs were seen to hang the request
 * or the queue's dispatch until some later event (wrangler 4.86). One `GET /v1/rescore/{runId}`
 * at the end reads the run's own figures. A run with no finished chunk for STALL_SECONDS is
 * reported as stalled (the local queue lost or stopped delivering its messages) and the bench stops.
 */
export async function rescore(server: Server, file: string, key: string, label: string): Promise<RunFigures> {
  const base = `http://${HOST}:${server.port}`;
  const headers = { authorization: `Bearer ${key}` };
  const t0 = performance.now();
  const started = await json<{ runId: string; accounts: number; chunks: number }>(await fetch(`${base}/v1/rescore`, { method: "POST", headers }), "POST /v1/rescore");
  const postMs = performance.now() - t0;
  log(`${label}: run ${started.runId}, ${n0(started.accounts)} accounts in ${started.chunks} chunks (POST answered in ${f(postMs, 0)} ms)`);
  let lastReport = 0;
  let lastDone = -1;
  let lastProgress = performance.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const out = await run("sqlite3", ["-readonly", "-json", file, `SELECT status, chunks_done AS done, chunks_total AS total, (SELECT coalesce(sum(scored), 0) FROM rescore_chunks WHERE run_id = '${started.runId}') AS scored FROM rescore_runs WHERE id = '${started.runId}'`]);
    const row = (JSON.parse(out || "[]") as { status: string; done: number; total: number; scored: number }[])[0];
    const elapsed = (performance.now() - t0) / 1000;
    if (!row) continue;
    if (row.done !== lastDone) {
      lastDone = row.done;
      lastProgress = performance.now();
    }
    if (row.status === "failed" || row.status === "completed") {
      const s = await json<{ status: string; scored: number; tierChanges: number; chunks: { total: number; done: number }; durationMs: number; accountsPerSecond: number; error: string | null }>(
        await fetch(`${base}/v1/rescore/${started.runId}`, { headers, signal: AbortSignal.timeout(60_000) }),
        "GET /v1/rescore",
      );
      if (s.status === "failed") throw new Error(`${label}: run failed: ${s.error}; server errors: ${[...server.errors].map(([m, c]) => `${c} × ${m}`).join("; ")}`);
      log(`${label}: completed: ${n0(s.scored)} scored in ${f(s.durationMs / 1000)} s (${n0(s.accountsPerSecond)} accounts/s), ${n0(s.tierChanges)} tier changes`);
      return { runId: started.runId, accounts: started.accounts, scored: s.scored, tierChanges: s.tierChanges, chunks: s.chunks.total, durationMs: s.durationMs, accountsPerSecond: s.accountsPerSecond, wallSeconds: elapsed, postMs };
    }
    if ((performance.now() - lastProgress) / 1000 > STALL_SECONDS) {
      throw new Error(`${label}: stalled: no chunk finished for ${STALL_SECONDS} s (${row.done}/${row.total} done); the local queue stopped delivering. Server output:\n${server.tail.slice(-20).join("\n")}`);
    }
    if (elapsed - lastReport >= 10) {
      lastReport = elapsed;
      log(`${label}: ${row.done}/${row.total} chunks, ${n0(row.scored)} scored, ${f(elapsed, 0)} s, ${n0(row.scored / elapsed)} accounts/s so far`);
    }
  }
}

/** The id ranges of CHUNK accounts a rescoring run splits `size` accounts into (`to` "" for the last). */
function accountRanges(size: number): { from: string; to: string }[] {
  const ranges: { from: string; to: string }[] = [];
  for (let from = 0; from < size; from += CHUNK) ranges.push({ from: syntheticAccount(from, PORTFOLIO_SEED).id, to: from + CHUNK < size ? syntheticAccount(from + CHUNK, PORTFOLIO_SEED).id : "" });
  return ranges;
}

/** The baseline Worker on `port` writes run `runId`'s rows again, range by range, without scoring. */
export async function measureBaseline(size: number, port: number, runId: string): Promise<SizeResult["baseline"]> {
  const as = `run_bench_baseline_${Date.now()}`;
  const sum = { rows: 0, accountReadMs: 0, precomputedReadMs: 0, writeMs: 0 };
  const t0 = performance.now();
  let lastLog = t0;
  for (const { from, to } of accountRanges(size)) {
    const q = new URLSearchParams({ run: runId, as, from, to });
    const r = await json<typeof sum>(await fetch(`http://${HOST}:${port}/?${q}`, { method: "POST" }), "baseline chunk");
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += r[k];
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`[${n0(size)}] baseline: ${n0(sum.rows)} rows written (${n0(sum.rows / ((sum.accountReadMs + sum.writeMs) / 1000))}/s)`);
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const seconds = (sum.accountReadMs + sum.writeMs) / 1000;
  const baseline = { rows: sum.rows, seconds, writeSeconds: sum.writeMs / 1000, accountReadSeconds: sum.accountReadMs / 1000, precomputedReadSeconds: sum.precomputedReadMs / 1000, wallSeconds, rowsPerSecond: sum.rows / seconds };
  log(`[${n0(size)}] baseline: ${n0(sum.rows)} precomputed rows: accounts read ${f(sum.accountReadMs / 1000)} s + writes ${f(sum.writeMs / 1000)} s = ${n0(baseline.rowsPerSecond)} rows/s; ${f(wallSeconds)} s wall with reading the precomputed rows`);
  return baseline;
}

/** The retention job as on `day`, in the baseline Worker on `port`: one request per range, then one for the logs. */
export async function runRetention(size: number, port: number, day: string): Promise<SizeResult["retention"]> {
  log(`[${n0(size)}] retention as on ${day}, one request per range of ${n0(CHUNK)} accounts ...`);
  const t0r = performance.now();
  let inWorkerMs = 0;
  const counts: RetentionCounts = {};
  let lastLogR = t0r;
  const parts: Record<string, string>[] = accountRanges(size);
  parts.push({ logs: "1" });
  for (const part of parts) {
    const r = await json<{ counts: RetentionCounts; ms: number }>(await fetch(`http://${HOST}:${port}/retention?${new URLSearchParams({ day, ...part })}`, { method: "POST" }), "retention");
    inWorkerMs += r.ms;
    for (const [table, c] of Object.entries(r.counts)) {
      const t = (counts[table] ??= { deleted: 0, thinned: 0, objects: 0, bytes: 0 });
      t.deleted += c.deleted;
      t.thinned += c.thinned;
      t.objects += c.objects;
      t.bytes += c.bytes;
    }
    if (performance.now() - lastLogR > 10_000) {
      lastLogR = performance.now();
      const done = Object.values(counts).reduce((a, c) => a + c.deleted + c.thinned, 0);
      log(`[${n0(size)}] retention: ${n0(done)} rows archived and removed or thinned (${n0(done / ((lastLogR - t0r) / 1000))}/s)`);
    }
  }
  const retention = { day, counts, seconds: (performance.now() - t0r) / 1000, inWorkerSeconds: inWorkerMs / 1000 };
  const moved = Object.values(counts).reduce((a, c) => a + c.deleted + c.thinned, 0);
  log(`[${n0(size)}] retention: ${n0(moved)} rows in ${f(retention.seconds)} s (${n0(moved / retention.seconds)}/s): ${Object.entries(counts).filter(([, c]) => c.deleted + c.thinned).map(([t, c]) => `${t} ${n0(c.deleted)} deleted, ${n0(c.thinned)} thinned, ${mb(c.bytes)} gzipped in ${c.objects} objects`).join("; ")}`);
  return retention;
}
