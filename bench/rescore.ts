/**
 * `npm run bench:rescore [-- --sizes 10000,100000,1000000] [--changed 0.1] [--no-write]
 * [--keep-state] [--report-only]`: batch rescoring at portfolio scale on the local stack, and what
 * it costs D1 in bytes. A million accounts take about 40 minutes on 2 cores and up to ~20 GB of
 * disk while they run (the state, R2 archive and vacuumed copies); `--report-only` rewrites the
 * BENCHMARKS.md section from the saved figures.
 *
 * For each size, on its own state dir (.foresight/bench/rescore/n{size}, recreated):
 * 1. loads that many synthetic accounts (bench/rescore-data.ts, deterministic) into local D1 in
 *    bulk through the platform proxy, then one signal snapshot per account;
 * 2. publishes and activates a GBDT trained once on a labelled sample of the same generator
 *    (`npm run train -- --family gbdt`, kept in .foresight/bench/rescore/model);
 * 3. serves the Worker with `wrangler dev` on that state (the command `npm start` runs; npm start
 *    itself would first score every account in Node, in one process) from a copy of the sources,
 *    and times two rescoring runs (`POST /v1/rescore`, followed in the D1 file): the first scores
 *    accounts that have no score yet; before the second, a share of accounts (`--changed`,
 *    default 10%) get new signals and a new day's snapshot, as a day of ingest would, so the
 *    second run is the daily steady state with tier changes and events;
 * 4. baseline in the same run: a Worker (bench/rescore-baseline-worker.ts) does each chunk's D1
 *    work without scoring, writing the second run's rows again with the consumer's statements;
 * 5. bytes per row by table (SQLite's dbstat), score rows with and without drivers (in place and
 *    vacuumed), and a shadow score;
 * 6. the retention job on the final state, as on a day 40 days later, range by range, with the
 *    pages it frees and what it archives;
 * 7. the retention arithmetic for a million accounts from the measured sizes.
 *
 * Each size's figures are kept in .foresight/bench/rescore/results-{size}.json, and the
 * BENCHMARKS.md section `rescore` is written from every size measured so far (each with its date).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { bulkSnapshotStatements, bulkUpsertAccountStatements } from "../shared/db/write";
import { createLocalKey } from "../training/keys";
import { openLocalPlatform } from "../training/platform";
import { publishLocal } from "../training/registry";
import { DEFAULT_RETENTION, type RowBytes, retentionBudget, type Workload } from "../workers/retention/policy";
import type { RetentionCounts } from "../workers/retention/job";
import { replaceSection } from "./markdown";
import { freePort, HOST, run, stopGroup, trackGroup } from "./processes";
import { labelledSampleCsv, PORTFOLIO_SEED, syntheticAccount } from "./rescore-data";

const root = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(root, "node_modules/.bin/wrangler");
const BENCH_DIR = path.join(root, ".foresight/bench/rescore");
const MODEL_DIR = path.join(BENCH_DIR, "model");
/** Accounts generated and loaded per batch. */
const LOAD_PAGE = 10_000;
/** Accounts per rescoring chunk (CHUNK_SIZE in workers/rescoring/chunks.ts): the baseline's ranges. */
const CHUNK = 1000;
/** The retention job runs as on this many days from now (see measureSize, part 4). */
const RETENTION_AFTER_DAYS = 40;
/** A run with no chunk finished for this long has stalled (see `rescore`). */
const STALL_SECONDS = 180;
/** The consumer's rows per D1 transaction (WRITE_SIZE in workers/rescoring/chunks.ts). */
const WRITE_SIZE = 250;

const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    changed: { type: "string", default: "0.1" },
    "no-write": { type: "boolean" },
    "keep-state": { type: "boolean" },
    "report-only": { type: "boolean" },
  },
});
const SIZES = flags.sizes!.split(",").map((s) => Number(s.trim().replace(/_/g, "")));
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes must be whole numbers, got ${flags.sizes}`);
const CHANGED = Number(flags.changed);

const log = (text: string) => console.error(`\x1b[36m›\x1b[0m ${new Date().toISOString().slice(11, 19)} ${text}`);
const n0 = (v: number) => Math.round(v).toLocaleString("en-US");
const f = (v: number | null | undefined, d = 1) => (v == null || !Number.isFinite(v) ? "—" : v.toFixed(d));
const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

// ---------------------------------------------------------------------------------------------
// Processes



interface Server {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
  tail: string[];
  errors: Map<string, number>;
}

/**
 * A copy of the Worker's sources (and node_modules linked), taken once at the start: wrangler dev
 * rebuilds and reloads on any change to the files it watches, and other work in the checkout
 * during a long run would restart the Worker mid-run (dropping the local queue's messages).
 */
function freezeWorkerSources(): string {
  const dir = path.join(BENCH_DIR, "worker");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of ["wrangler.toml", "package.json", "tsconfig.json", "workers", "shared", "public", "migrations"]) cpSync(path.join(root, entry), path.join(dir, entry), { recursive: true });
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
  mkdirSync(path.join(dir, "bench"));
  cpSync(path.join(root, "bench/rescore-baseline-worker.ts"), path.join(dir, "bench/rescore-baseline-worker.ts"));
  // The baseline Worker binds the same D1 database (same id, so the same local file).
  const main = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const d1 = /\[\[d1_databases\]\][^[]*/.exec(main)?.[0];
  const r2 = /\[\[r2_buckets\]\][^[]*/.exec(main)?.[0];
  const date = /compatibility_date = "[^"]+"/.exec(main)?.[0];
  if (!d1 || !r2 || !date) throw new Error("wrangler.toml has no [[d1_databases]], [[r2_buckets]] or compatibility_date");
  writeFileSync(path.join(dir, "baseline.toml"), `name = "foresight-bench-baseline"\nmain = "bench/rescore-baseline-worker.ts"\n${date}\ncompatibility_flags = ["nodejs_compat"]\n\n${d1.trim()}\n\n${r2.trim()}\n`);
  return dir;
}

let workerDir = root;

/** `wrangler dev` on the state dir, as `npm start` runs it after its own preparation. */
async function startServer(stateDir: string, port: number, logFile: string, config = "wrangler.toml"): Promise<Server> {
  const logStream = createWriteStream(logFile);
  const child = spawn(WRANGLER, ["dev", "-c", config, "--ip", HOST, "--port", String(port), "--persist-to", stateDir, "--show-interactive-dev-session=false"], {
    cwd: workerDir,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true" },
  });
  trackGroup(child);
  const tail: string[] = [];
  const errors = new Map<string, number>();
  let pending = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    logStream.write(text);
    pending += text;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const raw of lines) {
      const line = raw.replace(/\x1b\[[0-9;]*m/g, "");
      tail.push(line);
      if (tail.length > 200) tail.shift();
      const e = /\[ERROR\]\s*(.*)|rescore chunk .* failed.*/.exec(line);
      if (/Reloading local server|Local server updated|Detected changes/.test(line)) errors.set("wrangler dev reloaded the Worker mid-run", (errors.get("wrangler dev reloaded the Worker mid-run") ?? 0) + 1);
      if (e) {
        const key = (e[1] ?? e[0]).trim().slice(0, 200);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve())).finally(() => logStream.end());
  const until = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`http://${HOST}:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until || child.exitCode !== null) {
      await stopGroup({ child, exited });
      throw new Error(`wrangler dev did not answer /healthz; last output:\n${tail.slice(-30).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { child, port, exited, tail, errors };
}


// ---------------------------------------------------------------------------------------------
// Bytes in D1

/** The local D1 database file of a state dir (wrangler keeps one per binding). */
function d1File(stateDir: string): string {
  const dir = path.join(stateDir, "v3/d1/miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((n) => n.endsWith(".sqlite") && n !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database under ${dir}`);
  return path.join(dir, file);
}

/** Table (with its indexes) → bytes of pages, from SQLite's dbstat; read-only. */
async function tableBytes(file: string): Promise<{ total: number; byTable: Record<string, number>; fileBytes: number }> {
  const out = await run("sqlite3", ["-readonly", "-json", file, "SELECT coalesce(m.tbl_name, d.name) AS t, sum(d.pgsize) AS bytes FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY t"]);
  const rows = JSON.parse(out || "[]") as { t: string; bytes: number }[];
  const byTable = Object.fromEntries(rows.map((r) => [r.t, r.bytes]));
  const pages = await run("sqlite3", ["-readonly", file, "PRAGMA page_count; PRAGMA page_size;"]);
  const [count, size] = pages.trim().split("\n").map(Number);
  return { total: rows.reduce((a, r) => a + r.bytes, 0), byTable, fileBytes: count * size };
}

/** Bytes of one table (data + indexes). */
const bytesOf = (b: { byTable: Record<string, number> }, table: string) => b.byTable[table] ?? 0;

/**
 * Bytes per score row with drivers and without (drivers `[]`, no expansion reason or run id: the
 * thinned history row of the retention job), on a vacuumed copy so free space does not count: `slim` after
 * a VACUUM, `slimInPlace` as the pages stand after the UPDATE (what D1, which does not vacuum,
 * keeps until the freed space is reused).
 */
async function scoreRowBytes(file: string, runId: string): Promise<{ full: number; slim: number; slimInPlace: number; rows: number; shadow: number }> {
  const copy = path.join(os.tmpdir(), `foresight-rescore-${process.pid}.sqlite`);
  const vac = `${copy}.v`;
  rmSync(copy, { force: true });
  rmSync(vac, { force: true });
  const scoresBytes = async (f: string) =>
    (JSON.parse(await run("sqlite3", ["-json", f, "SELECT (SELECT count(*) FROM scores) AS n, (SELECT sum(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'scores') AS bytes"]))[0] as { n: number; bytes: number });
  try {
    await run("sqlite3", [file, `VACUUM INTO '${copy}'`]);
    const before = await scoresBytes(copy);
    // A shadow model's score per account of the run, as a rescoring run with a shadow writes them.
    const shadowed = JSON.parse(
      await run("sqlite3", ["-json", copy, `INSERT INTO shadow_scores SELECT run_id, account_id, replace(model_version, 'churn-', 'churn-shadow-'), churn_probability, scored_at FROM scores WHERE run_id = '${runId}'; SELECT changes() AS n, (SELECT sum(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'shadow_scores') AS bytes`]),
    )[0] as { n: number; bytes: number };
    const changed = Number((await run("sqlite3", [copy, `UPDATE scores SET drivers = '[]', expansion_reason = NULL, run_id = NULL WHERE run_id = '${runId}'; SELECT changes();`])).trim());
    const inPlace = await scoresBytes(copy);
    await run("sqlite3", [copy, `VACUUM INTO '${vac}'`]);
    const after = await scoresBytes(vac);
    const full = before.bytes / before.n;
    // The thinned rows gave up (before − after) bytes in total.
    return { full, slim: full - (before.bytes - after.bytes) / changed, slimInPlace: full - (before.bytes - inPlace.bytes) / changed, rows: before.n, shadow: shadowed.bytes / shadowed.n };
  } finally {
    rmSync(copy, { force: true });
    rmSync(vac, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The model

async function ensureModel(): Promise<{ version: string; family: string; trees: number | null; depth: number | null; features: number }> {
  const file = path.join(MODEL_DIR, "model.json");
  if (!existsSync(file)) {
    mkdirSync(BENCH_DIR, { recursive: true });
    const sample = path.join(BENCH_DIR, "sample.csv");
    writeFileSync(sample, labelledSampleCsv(10_000));
    log("training the bench model: npm run train -- --data .foresight/bench/rescore/sample.csv --label churned --positive yes --id account_id --arr arr --family gbdt --budget 60 ...");
    await run("npm", ["run", "--silent", "train", "--", "--data", sample, "--label", "churned", "--positive", "yes", "--id", "account_id", "--arr", "arr", "--family", "gbdt", "--budget", "60", "--out", MODEL_DIR]);
  }
  const a = JSON.parse(readFileSync(file, "utf8")) as { version: string; model: { family: string; trees?: number; maxDepth?: number }; features: unknown[] };
  return { version: a.version, family: a.model.family, trees: a.model.trees ?? null, depth: a.model.maxDepth ?? null, features: a.features.length };
}

// ---------------------------------------------------------------------------------------------
// One size

interface RunFigures {
  runId: string;
  accounts: number;
  scored: number;
  tierChanges: number;
  chunks: number;
  durationMs: number;
  /** The run's own figure (GET /v1/rescore: scored ÷ (finished_at − started_at)). */
  accountsPerSecond: number;
  /** From POST /v1/rescore to the poll that saw it completed (2 s polls). */
  wallSeconds: number;
  postMs: number;
}

interface SizeResult {
  size: number;
  at: string;
  load: { seconds: number; perSecond: number };
  snapshots: { seconds: number; perSecond: number };
  change: { accounts: number; seconds: number };
  runs: RunFigures[];
  /** The retention job on the state at the end (as on `day`), range by range. */
  retention: { day: string; counts: RetentionCounts; seconds: number; inWorkerSeconds: number };
  /** Reading each chunk's accounts and writing its precomputed rows, in a Worker (see rescore-baseline-worker.ts). */
  baseline: { rows: number; seconds: number; writeSeconds: number; accountReadSeconds: number; precomputedReadSeconds: number; wallSeconds: number; rowsPerSecond: number };
  bytes: {
    accountsPerRow: number;
    snapshotPerRow: number;
    scorePerRow: number;
    scoreFull: number;
    scoreSlim: number;
    scoreSlimInPlace: number;
    /** A thinned score as the retention job leaves it (deleted and inserted again), pages in use. */
    scoreThinnedByJob: number;
    shadowPerRow: number;
    eventsPerRow: number | null;
    byTableEnd: Record<string, number>;
    totalEnd: number;
    fileEnd: number;
    /** After the retention job: pages in use per table, the file, and the score rows left. */
    afterRetention: { byTable: Record<string, number>; total: number; fileBytes: number; scoreRows: number };
    /** D1's own size_after (meta of a query) at the end, after retention. */
    d1SizeAfter: number;
  };
  serverErrors: [string, number][];
  loadAverage: string;
  /** The sources the Worker was bundled from. */
  source: string;
  model: string;
}

async function withPlatform<T>(stateDir: string, fn: (env: Env) => Promise<T>): Promise<T> {
  process.env.FORESIGHT_STATE_DIR = stateDir;
  const platform = await openLocalPlatform();
  try {
    return await fn(platform.env);
  } finally {
    await platform.dispose();
  }
}

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
async function rescore(server: Server, file: string, key: string, label: string): Promise<RunFigures> {
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

async function measureSize(size: number, model: Awaited<ReturnType<typeof ensureModel>>, source: string): Promise<SizeResult> {
  const dir = path.join(BENCH_DIR, `n${size}`);
  const stateDir = path.join(dir, "state");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const loadAverage = os.loadavg().map((v) => v.toFixed(2)).join(", ");
  log(`[${n0(size)}] applying migrations to ${path.relative(root, stateDir)} ...`);
  await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", stateDir], { ...process.env, CI: "true" });
  const file = d1File(stateDir);
  const empty = await tableBytes(file);

  // 1. Accounts, then one snapshot each, in bulk through the platform proxy.
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const { load, snapshots, key } = await withPlatform(stateDir, async (env) => {
    let t0 = performance.now();
    let lastLog = t0;
    for (let from = 0; from < size; from += LOAD_PAGE) {
      const rows = [];
      for (let i = from; i < Math.min(size, from + LOAD_PAGE); i++) rows.push(syntheticAccount(i, PORTFOLIO_SEED));
      await env.DB.batch(bulkUpsertAccountStatements(env.DB, rows, { snapshots: false }));
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`[${n0(size)}] loaded ${n0(from + rows.length)} accounts (${n0((from + rows.length) / ((lastLog - t0) / 1000))}/s)`);
      }
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    log(`[${n0(size)}] loaded ${n0(size)} accounts in ${f(loadSeconds)} s (${n0(size / loadSeconds)}/s, generation included)`);
    t0 = performance.now();
    for (let from = 0; from < size; from += LOAD_PAGE) {
      const ids = [];
      for (let i = from; i < Math.min(size, from + LOAD_PAGE); i++) ids.push(syntheticAccount(i, PORTFOLIO_SEED).id);
      await env.DB.batch(bulkSnapshotStatements(env.DB, ids, today));
    }
    const snapSeconds = (performance.now() - t0) / 1000;
    log(`[${n0(size)}] ${n0(size)} snapshots in ${f(snapSeconds)} s`);
    const published = await publishLocal(env, MODEL_DIR, true);
    log(`[${n0(size)}] published and activated ${published.version}`);
    const k = await createLocalKey(env, "admin", "bench:rescore", 0);
    return { load: { seconds: loadSeconds, perSecond: size / loadSeconds }, snapshots: { seconds: snapSeconds, perSecond: size / snapSeconds }, key: k };
  });
  const afterLoad = await tableBytes(file);

  // 2. Two rescoring runs on wrangler dev: first scores, then the daily steady state.
  const port = await freePort(8810);
  log(`[${n0(size)}] starting wrangler dev on port ${port} ...`);
  let server = await startServer(stateDir, port, path.join(dir, "server.log"));
  const runs: RunFigures[] = [];
  let change = { accounts: 0, seconds: 0 };
  try {
    runs.push(await rescore(server, file, key, `[${n0(size)}] run 1 (first scores)`));
    // A day of ingest: CHANGED of the accounts (every k-th) get new signals and a snapshot for tomorrow.
    const every = CHANGED > 0 ? Math.max(1, Math.round(1 / CHANGED)) : 0;
    if (every) {
      await stopGroup(server);
      change = await withPlatform(stateDir, async (env) => {
        const t0 = performance.now();
        let changed = 0;
        for (let from = 0; from < size; from += LOAD_PAGE) {
          const rows = [];
          for (let i = from; i < Math.min(size, from + LOAD_PAGE); i++) {
            if (i % every !== 0) continue;
            // The account as a differently seeded portfolio draws it: new signals, same id.
            const next = syntheticAccount(i, PORTFOLIO_SEED + 1000);
            rows.push({ ...syntheticAccount(i, PORTFOLIO_SEED), features: next.features });
          }
          changed += rows.length;
          if (rows.length) await env.DB.batch(bulkUpsertAccountStatements(env.DB, rows, { asOf: tomorrow }));
        }
        return { accounts: changed, seconds: (performance.now() - t0) / 1000 };
      });
      log(`[${n0(size)}] changed the signals of ${n0(change.accounts)} accounts (snapshots dated ${tomorrow}) in ${f(change.seconds)} s`);
      server = await startServer(stateDir, port, path.join(dir, "server-2.log"));
    }
    runs.push(await rescore(server, file, key, `[${n0(size)}] run 2 (daily steady state)`));
  } catch (e) {
    console.error(`server output before the failure:\n${server.tail.slice(-40).join("\n")}`);
    throw e;
  } finally {
    await stopGroup(server);
  }
  const serverErrors = [...server.errors];
  const afterRuns = await tableBytes(file);

  // 3. Baseline: the second run's rows again, precomputed, written by a Worker as the consumer writes them.
  const steady = runs[runs.length - 1];
  const baselinePort = await freePort(port + 1);
  log(`[${n0(size)}] baseline: wrangler dev -c baseline.toml on port ${baselinePort} ...`);
  const baselineServer = await startServer(stateDir, baselinePort, path.join(dir, "server-baseline.log"), "baseline.toml");
  let baseline: SizeResult["baseline"];
  let retention: SizeResult["retention"];
  let beforeRetention: Awaited<ReturnType<typeof tableBytes>>;
  let rowBytes: Awaited<ReturnType<typeof scoreRowBytes>>;
  let eventRows: number;
  try {
    const as = `run_bench_baseline_${Date.now()}`;
    const sum = { rows: 0, accountReadMs: 0, precomputedReadMs: 0, writeMs: 0 };
    const t0 = performance.now();
    let lastLog = t0;
    for (let from = 0; from < size; from += CHUNK) {
      const to = from + CHUNK < size ? syntheticAccount(from + CHUNK, PORTFOLIO_SEED).id : "";
      const q = new URLSearchParams({ run: steady.runId, as, from: syntheticAccount(from, PORTFOLIO_SEED).id, to });
      const r = await json<typeof sum>(await fetch(`http://${HOST}:${baselinePort}/?${q}`, { method: "POST" }), "baseline chunk");
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += r[k];
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`[${n0(size)}] baseline: ${n0(sum.rows)} rows written (${n0(sum.rows / ((sum.accountReadMs + sum.writeMs) / 1000))}/s)`);
      }
    }
    const wallSeconds = (performance.now() - t0) / 1000;
    const seconds = (sum.accountReadMs + sum.writeMs) / 1000;
    baseline = { rows: sum.rows, seconds, writeSeconds: sum.writeMs / 1000, accountReadSeconds: sum.accountReadMs / 1000, precomputedReadSeconds: sum.precomputedReadMs / 1000, wallSeconds, rowsPerSecond: sum.rows / seconds };
    log(`[${n0(size)}] baseline: ${n0(sum.rows)} precomputed rows: accounts read ${f(sum.accountReadMs / 1000)} s + writes ${f(sum.writeMs / 1000)} s = ${n0(baseline.rowsPerSecond)} rows/s; ${f(wallSeconds)} s wall with reading the precomputed rows`);

    // 4. Retention on this state, as on the day RETENTION_AFTER_DAYS from now: today's three
    // scores per account are then in the weekly band (the first stays, thinned; run 2's goes; the
    // baseline's is current) and the events are past their 30 days.
    beforeRetention = await tableBytes(file);
    log(`[${n0(size)}] measuring a score row with and without drivers (vacuumed copy) ...`);
    rowBytes = await scoreRowBytes(file, steady.runId);
    eventRows = Number((await run("sqlite3", ["-readonly", file, "SELECT count(*) FROM events"])).trim());
    const day = new Date(Date.now() + RETENTION_AFTER_DAYS * 86_400_000).toISOString().slice(0, 10);
    log(`[${n0(size)}] retention as on ${day}, one request per range of ${n0(CHUNK)} accounts ...`);
    const t0r = performance.now();
    let inWorkerMs = 0;
    const counts: RetentionCounts = {};
    let lastLogR = t0r;
    const parts: Record<string, string>[] = [];
    for (let from = 0; from < size; from += CHUNK) parts.push({ from: syntheticAccount(from, PORTFOLIO_SEED).id, to: from + CHUNK < size ? syntheticAccount(from + CHUNK, PORTFOLIO_SEED).id : "" });
    parts.push({ logs: "1" });
    for (const part of parts) {
      const r = await json<{ counts: RetentionCounts; ms: number }>(await fetch(`http://${HOST}:${baselinePort}/retention?${new URLSearchParams({ day, ...part })}`, { method: "POST" }), "retention");
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
    retention = { day, counts, seconds: (performance.now() - t0r) / 1000, inWorkerSeconds: inWorkerMs / 1000 };
    const moved = Object.values(counts).reduce((a, c) => a + c.deleted + c.thinned, 0);
    log(`[${n0(size)}] retention: ${n0(moved)} rows in ${f(retention.seconds)} s (${n0(moved / retention.seconds)}/s): ${Object.entries(counts).filter(([, c]) => c.deleted + c.thinned).map(([t, c]) => `${t} ${n0(c.deleted)} deleted, ${n0(c.thinned)} thinned, ${mb(c.bytes)} gzipped in ${c.objects} objects`).join("; ")}`);
  } finally {
    await stopGroup(baselineServer);
  }
  const end = beforeRetention;
  const afterRetention = await tableBytes(file);
  const d1SizeAfter = await withPlatform(stateDir, async (env) => (await env.DB.prepare("SELECT 1").run()).meta.size_after);
  const scoreRows = Number((await run("sqlite3", ["-readonly", file, "SELECT count(*) FROM scores"])).trim());

  const result: SizeResult = {
    size,
    at: new Date().toISOString(),
    load,
    snapshots,
    change,
    runs,
    baseline,
    retention: retention!,
    bytes: {
      accountsPerRow: (bytesOf(afterLoad, "accounts") - bytesOf(empty, "accounts")) / size,
      snapshotPerRow: (bytesOf(afterRuns, "signal_snapshots") - bytesOf(empty, "signal_snapshots")) / (size + change.accounts),
      scorePerRow: (bytesOf(end, "scores") - bytesOf(empty, "scores")) / (runs.reduce((a, r) => a + r.scored, 0) + baseline.rows),
      scoreFull: rowBytes.full,
      scoreSlim: rowBytes.slim,
      scoreSlimInPlace: rowBytes.slimInPlace,
      scoreThinnedByJob: (afterRetention.byTable.scores - size * rowBytes.full) / (scoreRows - size),
      shadowPerRow: rowBytes.shadow,
      eventsPerRow: eventRows ? (bytesOf(end, "events") - bytesOf(empty, "events")) / eventRows : null,
      byTableEnd: end.byTable,
      totalEnd: end.total,
      fileEnd: end.fileBytes,
      afterRetention: { byTable: afterRetention.byTable, total: afterRetention.total, fileBytes: afterRetention.fileBytes, scoreRows },
      d1SizeAfter,
    },
    serverErrors,
    loadAverage,
    source,
    model: `${model.version} (${model.family}${model.trees ? `, ${model.trees} trees depth ${model.depth}` : ""}, ${model.features} signals)`,
  };
  writeFileSync(path.join(BENCH_DIR, `results-${size}.json`), `${JSON.stringify(result, null, 2)}\n`);
  if (!flags["keep-state"]) rmSync(stateDir, { recursive: true, force: true });
  return result;
}

// ---------------------------------------------------------------------------------------------
// Report

/** The retention arithmetic for a million accounts with the measured row sizes of `r`. */
function budgetLines(r: SizeResult): string[] {
  const bytes: RowBytes = {
    account: r.bytes.accountsPerRow,
    score: r.bytes.scoreFull,
    thinnedScore: r.bytes.scoreThinnedByJob ?? r.bytes.scoreSlim,
    snapshot: r.bytes.snapshotPerRow,
    event: r.bytes.eventsPerRow ?? 1200,
    shadowScore: r.bytes.shadowPerRow ?? 250,
  };
  const workload: Workload = { accounts: 1_000_000, snapshotsPerDay: 1, eventsPerDay: 0.02, shadow: false };
  const items = retentionBudget(DEFAULT_RETENTION, bytes, workload);
  const shadow = retentionBudget(DEFAULT_RETENTION, bytes, { ...workload, shadow: true }).at(-1)!;
  const total = items.reduce((a, i) => a + i.total, 0);
  const brief = { ...DEFAULT_RETENTION, scoreDailyDays: 7, scoreWeeklyDays: 91, scoreMonthlyDays: 396, snapshotDailyDays: 7, snapshotWeeklyDays: 91, snapshotMonthlyDays: 396, eventDays: 90, shadowDays: 30 };
  const briefTotal = retentionBudget(brief, bytes, workload).reduce((a, i) => a + i.total, 0);
  const p = DEFAULT_RETENTION;
  return [
    `### Retention arithmetic: a million accounts under the default policy (row sizes measured at ${n0(r.size)} accounts)`,
    "",
    `Policy (\`workers/retention/policy.ts\`, vars \`RETENTION_*\`): drivers only on the current score (${p.scoreDriversDays} days); scores: all of today's and of the last ${p.scoreDailyDays} day(s), then${p.scoreWeeklyDays > p.scoreDailyDays ? ` the first per week to ${p.scoreWeeklyDays} days,` : ""} the first per month to ${p.scoreMonthlyDays} days; snapshots: the newest, then${p.snapshotDailyDays ? ` all to ${p.snapshotDailyDays} days,` : ""}${p.snapshotWeeklyDays > p.snapshotDailyDays ? ` the first per week to ${p.snapshotWeeklyDays} days,` : ""} the first per month to ${p.snapshotMonthlyDays} days; events and finished deliveries ${p.eventDays} days; shadow scores of today's run and ${p.shadowDays} day(s) before. Worst case assumed: daily rescoring, every account's signals change every day (a snapshot a day), tier changes on 2% of accounts a day (run 2 here measured ${f((100 * r.runs[r.runs.length - 1].tierChanges) / r.size)}% after changing 10% of the signals). Rows per account are the peak of a day-by-day simulation of the policy (\`peakRowsPerAccount\`).`,
    "",
    "| what | rows per account (peak) | bytes per row | bytes per account | at 1,000,000 accounts |",
    "|---|---|---|---|---|",
    ...items.map((i) => `| ${i.item} | ${f(i.rows, i.rows % 1 ? 2 : 0)} | ${i.rows ? n0(i.bytesPerAccount / i.rows) : "—"} B | ${n0(i.bytesPerAccount)} B | ${f(i.total / 1e9, 2)} GB |`),
    `| **total** | | | ${n0(total / workload.accounts)} B | **${f(total / 1e9, 2)} GB** of D1's 10 GB |`,
    "",
    `While a shadow model is scored beside the active one: + ${f(shadow.total / 1e9, 2)} GB (${shadow.rows} runs × ${n0(bytes.shadowScore)} B). For comparison, keeping a week of daily scores, weekly to 13 weeks and monthly to 13 months for both scores and snapshots, with 90 days of events, would take ${f(briefTotal / 1e9, 1)} GB at a million accounts (it fits about ${n0((8e9 / briefTotal) * 1e6)} accounts in 8 GB).`,
    "",
  ];
}

function report(results: SizeResult[]): string {
  const bySize = [...results].sort((a, b) => a.size - b.size);
  const steady = (r: SizeResult) => r.runs[r.runs.length - 1];
  const usPer = (r: RunFigures) => (r.durationMs * 1000) / r.scored;
  const small = bySize[0];
  const lines = [
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Node ${process.version}; wrangler dev (workerd, local D1 = SQLite, local Queues) on a state dir of its own per size. Model: ${small.model}, trained once by \`npm run train -- --family gbdt\` on 10,000 labelled accounts of the same generator. Every run scores with 10 drivers per account (TreeSHAP), as the consumer does.`,
    "",
    `Sizes measured: ${bySize.map((r) => `${n0(r.size)} (${r.at.slice(0, 16).replace("T", " ")} UTC, Worker from ${r.source}, load average at start ${r.loadAverage})`).join("; ")}. Other work (tests, benches) shared the 2 cores in some of these runs: the load averages say how much.`,
    "",
    "### Rescoring throughput (`POST /v1/rescore`, chunks of 1,000 accounts over the local queue)",
    "",
    "Run 1 scores accounts that have none yet; run 2 is the daily steady state after a day of ingest changed the signals of 10% of the accounts (every account already has a current score, so tier changes become events). accounts/s is the run's own figure from `GET /v1/rescore/{runId}` (scored ÷ (finished − started)); wall is from the POST until a 2-second poll of the local D1 file (read-only) saw it completed; the bench does not poll the API during a run (see `rescore` in bench/rescore.ts).",
    "",
    "| accounts | run | run time | accounts/s | µs per account | wall | tier changes (events) | chunks |",
    "|---|---|---|---|---|---|---|---|",
    ...bySize.flatMap((r) => r.runs.map((x, i) => `| ${n0(r.size)} | ${i === 0 ? "1: first scores" : "2: steady state"} | ${f(x.durationMs / 1000)} s | ${n0(x.accountsPerSecond)} | ${f(usPer(x), 0)} | ${f(x.wallSeconds)} s | ${n0(x.tierChanges)} | ${x.chunks} |`)),
    "",
    "### Scoring against writing the same rows without scoring (same run)",
    "",
    `Baseline: a small Worker (\`bench/rescore-baseline-worker.ts\`, \`wrangler dev\` on the same state) does a chunk's D1 work without the scoring: for each range of 1,000 accounts it reads the accounts as the consumer does, then writes run 2's rows again (precomputed, with their drivers) under a new run id with the consumer's own statements (\`insertScoreStatements\`: a json_each insert and the current-score update per ${WRITE_SIZE} rows, one D1 transaction each). Its time is the account read plus the writes, measured in the Worker around each awaited D1 call (reading the precomputed rows is not counted). It writes no events and skips the consumer's bookkeeping queries (run and chunk rows, the retry check, the chunk's counts), so the difference is the scoring plus those.`,
    "",
    "| accounts | rescoring (run 2) accounts/s | baseline rows/s | rescoring ÷ baseline time | baseline: account read / writes |",
    "|---|---|---|---|---|",
    ...bySize.map((r) => `| ${n0(r.size)} | ${n0(steady(r).accountsPerSecond)} | ${n0(r.baseline.rowsPerSecond)} | ${f(r.baseline.rowsPerSecond / steady(r).accountsPerSecond, 2)}× | ${f(r.baseline.accountReadSeconds)} s / ${f(r.baseline.writeSeconds)} s |`),
    "",
  ];
  if (bySize.length > 1) {
    const last = bySize[bySize.length - 1];
    lines.push(
      `Scaling, ${n0(last.size)} ÷ ${n0(small.size)} accounts (1.00× = cost linear in size): run 2 ${f(usPer(steady(last)) / usPer(steady(small)), 2)}× the cost per account (µs per account ${bySize.map((r) => `${f(usPer(steady(r)), 0)} at ${n0(r.size)}`).join(", ")}); run 1 ${f(usPer(last.runs[0]) / usPer(small.runs[0]), 2)}× (${bySize.map((r) => f(usPer(r.runs[0]), 0)).join(", ")} µs); the baseline's cost per row ${f(small.baseline.rowsPerSecond / last.baseline.rowsPerSecond, 2)}×. \`POST /v1/rescore\` itself (splitting the accounts into chunks and queueing them) answered in ${bySize.map((r) => `${f(r.runs[r.runs.length - 1].postMs, 0)} ms`).join(", ")}.`,
      "",
    );
  }
  lines.push(
    "### The retention job at this scale",
    "",
    `After the runs and the baseline, each account has three scores from today (run 1, run 2 and the baseline's, which is current) and ~4% of accounts have events. The retention job (\`workers/retention/job.ts\`, default policy) then runs as on the day ${RETENTION_AFTER_DAYS} days later, in the baseline Worker, one request per range of 1,000 accounts and one for the logs: the three scores are then past the daily band and in one week and month, so the first (run 1's) stays without its drivers, reason and run id (archived, deleted and inserted again under its id), run 2's is archived and deleted, the current one is untouched; the events are past their ${DEFAULT_RETENTION.eventDays} days. Every removed or thinned row is first written to local R2 as gzipped JSON Lines.`,
    "",
    "| accounts | scores deleted | scores thinned | events deleted | other rows | time | rows/s | archive (gzipped) | pages in use: scores before → after | database file |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...bySize.map((r) => {
      const c = r.retention.counts;
      const rows = Object.values(c).reduce((a, x) => a + x.deleted + x.thinned, 0);
      const other = Object.entries(c).filter(([t]) => t !== "scores" && t !== "events").reduce((a, [, x]) => a + x.deleted + x.thinned, 0);
      const gz = Object.values(c).reduce((a, x) => a + x.bytes, 0);
      const objects = Object.values(c).reduce((a, x) => a + x.objects, 0);
      return `| ${n0(r.size)} | ${n0(c.scores?.deleted ?? 0)} | ${n0(c.scores?.thinned ?? 0)} | ${n0(c.events?.deleted ?? 0)} | ${n0(other)} | ${f(r.retention.seconds)} s | ${n0(rows / r.retention.seconds)} | ${mb(gz)} in ${n0(objects)} objects | ${mb(r.bytes.byTableEnd.scores)} → ${mb(r.bytes.afterRetention.byTable.scores)} | ${mb(r.bytes.fileEnd)} → ${mb(r.bytes.afterRetention.fileBytes)} |`;
    }),
    "",
    `Bytes per thinned score row as the job leaves it (pages in use after the job, less the current rows at their measured size, per thinned row): ${bySize.map((r) => `${n0(r.size)}: ${n0(r.bytes.scoreThinnedByJob)} B`).join("; ")}. The local database file does not shrink: SQLite keeps freed pages on its free list and the next days' rows reuse them, so the file stays at its high-water mark. D1's own \`meta.size_after\` (below) counts the pages in use.`,
    "",
    "### Bytes in D1",
    "",
    "Measured with SQLite's `dbstat` on the local database file (pages of each table with its indexes), before the retention job. Score rows on a vacuumed copy: as written (10 drivers, expansion reason), and thinned (drivers `[]`, no expansion reason or run id: what the retention job keeps of old history), after a VACUUM and in place after an UPDATE (pages stay allocated: why the job deletes and re-inserts thinned rows instead).",
    "",
    "| accounts | account row | snapshot row | score row, as written | score row, thinned (vacuumed / in place) | event row | pages in use before → after retention | database file | D1 `meta.size_after` after retention |",
    "|---|---|---|---|---|---|---|---|---|",
    ...bySize.map((r) => `| ${n0(r.size)} | ${n0(r.bytes.accountsPerRow)} B | ${n0(r.bytes.snapshotPerRow)} B | ${n0(r.bytes.scoreFull)} B | ${n0(r.bytes.scoreSlim)} B / ${n0(r.bytes.scoreSlimInPlace ?? NaN)} B | ${r.bytes.eventsPerRow === null ? "—" : `${n0(r.bytes.eventsPerRow)} B`} | ${mb(r.bytes.totalEnd)} → ${mb(r.bytes.afterRetention.total)} | ${mb(r.bytes.afterRetention.fileBytes)} | ${mb(r.bytes.d1SizeAfter)} |`),
    "",
    ...budgetLines(bySize[bySize.length - 1]),
    `Loading (platform proxy, json_each bulk upserts of ${n0(LOAD_PAGE)} accounts): ${bySize.map((r) => `${n0(r.size)} accounts in ${f(r.load.seconds)} s (${n0(r.load.perSecond)}/s), snapshots ${n0(r.snapshots.perSecond)}/s`).join("; ")}.`,
    "",
    `Server errors during the runs: ${bySize.every((r) => r.serverErrors.length === 0) ? "none" : bySize.map((r) => `${n0(r.size)}: ${r.serverErrors.map(([m, c]) => `${c} × ${m}`).join("; ") || "none"}`).join("; ")}.`,
  );
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------

if (flags["report-only"]) {
  // Rewrite the section from the figures already measured (results-*.json), measuring nothing.
  const saved = readdirSync(BENCH_DIR)
    .filter((n) => /^results-\d+\.json$/.test(n))
    .map((n) => JSON.parse(readFileSync(path.join(BENCH_DIR, n), "utf8")) as SizeResult);
  const text = report(saved);
  if (!flags["no-write"]) replaceSection(path.join(root, "BENCHMARKS.md"), "rescore", "## Batch rescoring at scale (`npm run bench:rescore`)", text);
  console.log(text);
  process.exit(0);
}

const model = await ensureModel();
workerDir = freezeWorkerSources();
const dirty = (await run("git", ["status", "--porcelain", "--", "workers", "shared", "wrangler.toml", "migrations"])).trim();
const source = `commit ${(await run("git", ["rev-parse", "--short", "HEAD"])).trim()}${dirty ? ` with uncommitted changes to ${dirty.split("\n").length} file(s) in workers/, shared/, migrations/ or wrangler.toml` : ""}`;
log(`serving a copy of the Worker's sources taken now (${path.relative(root, workerDir)}), so edits during the run do not reload it`);
log(`model ${model.version} (${model.family}, ${model.trees} trees, depth ${model.depth}); sizes ${SIZES.map(n0).join(", ")}`);
for (const size of SIZES) {
  const r = await measureSize(size, model, source);
  log(`[${n0(size)}] done: run 2 ${n0(r.runs[r.runs.length - 1].accountsPerSecond)} accounts/s; baseline ${n0(r.baseline.rowsPerSecond)} rows/s; score row ${n0(r.bytes.scoreFull)} B (${n0(r.bytes.scoreSlim)} B thinned)`);
}
const all = readdirSync(BENCH_DIR)
  .filter((n) => /^results-\d+\.json$/.test(n))
  .map((n) => JSON.parse(readFileSync(path.join(BENCH_DIR, n), "utf8")) as SizeResult);
const text = report(all);
if (!flags["no-write"]) replaceSection(path.join(root, "BENCHMARKS.md"), "rescore", "## Batch rescoring at scale (`npm run bench:rescore`)", text);
console.log(text);
process.exit(0);
