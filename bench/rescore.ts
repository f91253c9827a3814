/**
 * `npm run bench:rescore [-- --sizes 10000,100000,1000000] [--changed 0.1] [--no-write]
 * [--keep-state] [--report-only] [--export-only]`: batch rescoring at portfolio scale on the local
 * stack, and what it costs D1 in bytes. A million accounts take about 40 minutes on 2 cores and up to ~20 GB of
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
 * 7. the retention arithmetic for a million accounts from the measured sizes;
 * 8. after run 2, the CRM export's memory (bench/rescore-export.ts, its own section
 *    `rescore-export`); `--export-only` builds the state with one run and measures only that.
 *
 * Each size's figures are kept in .foresight/bench/rescore/results-{size}.json, and the
 * BENCHMARKS.md section `rescore` is written from every size measured so far (each with its date).
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { whileServing } from "./dev-server";
import { f, loadAverage as currentLoadAverage, n0 } from "./format";
import { applyLocalMigrations, freePort, ROOT, run, stopGroup } from "./processes";
import { bytesOf, d1File, type ScoreRowBytes, scoreRowBytes, type TableBytes, tableBytes } from "./rescore-bytes";
import { measureExport, measureExportOnly, publishExportReport } from "./rescore-export";
import { publishReport } from "./rescore-report";
import { type RunFigures, type SizeResult, saveResult, savedResults } from "./rescore-results";
import { measureBaseline, rescore, runRetention } from "./rescore-runs";
import { freezeWorkerSources, startServer } from "./rescore-server";
import { BENCH_DIR, CHANGED, flags, log, RETENTION_AFTER_DAYS, SIZES } from "./rescore-settings";
import { type BenchModel, changeSignals, ensureModel, loadPortfolio, withPlatform } from "./rescore-state";

/** Measures one size on a state dir of its own (recreated), and keeps its figures. */
async function measureSize(size: number, model: BenchModel, source: string): Promise<SizeResult> {
  const dir = path.join(BENCH_DIR, `n${size}`);
  const stateDir = path.join(dir, "state");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const loadAverage = currentLoadAverage();
  log(`[${n0(size)}] applying migrations to ${path.relative(ROOT, stateDir)} ...`);
  await applyLocalMigrations(stateDir);
  const file = d1File(stateDir);
  const empty = await tableBytes(file);

  // 1. Accounts, then one snapshot each, in bulk through the platform proxy.
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const { load, snapshots, key } = await loadPortfolio(stateDir, size, today);
  const afterLoad = await tableBytes(file);

  // 2. Two rescoring runs on wrangler dev: first scores, then the daily steady state.
  const port = await freePort(8810);
  log(`[${n0(size)}] starting wrangler dev on port ${port} ...`);
  let server = await startServer(stateDir, port, path.join(dir, "server.log"));
  const runs: RunFigures[] = [];
  let change = { accounts: 0, seconds: 0 };
  await whileServing(() => server, 40, async () => {
    runs.push(await rescore(server, file, key, `[${n0(size)}] run 1 (first scores)`));
    // A day of ingest: CHANGED of the accounts (every k-th) get new signals and a snapshot for tomorrow.
    const every = CHANGED > 0 ? Math.max(1, Math.round(1 / CHANGED)) : 0;
    if (every) {
      await stopGroup(server);
      change = await changeSignals(stateDir, size, every, tomorrow);
      log(`[${n0(size)}] changed the signals of ${n0(change.accounts)} accounts (snapshots dated ${tomorrow}) in ${f(change.seconds)} s`);
      server = await startServer(stateDir, port, path.join(dir, "server-2.log"));
    }
    runs.push(await rescore(server, file, key, `[${n0(size)}] run 2 (daily steady state)`));
    // The CRM export's memory on the same state (bench/rescore-export.ts; its own section and figures).
    await measureExport(server, stateDir, key, size, source);
  });
  const serverErrors = [...server.errors];
  const afterRuns = await tableBytes(file);

  // 3. Baseline: the second run's rows again, precomputed, written by a Worker as the consumer writes them.
  const steady = runs[runs.length - 1];
  const baselinePort = await freePort(port + 1);
  log(`[${n0(size)}] baseline: wrangler dev -c baseline.toml on port ${baselinePort} ...`);
  const baselineServer = await startServer(stateDir, baselinePort, path.join(dir, "server-baseline.log"), "baseline.toml");
  let baseline: SizeResult["baseline"];
  let retention: SizeResult["retention"];
  let beforeRetention: TableBytes;
  let rowBytes: ScoreRowBytes;
  let eventRows: number;
  try {
    baseline = await measureBaseline(size, baselinePort, steady.runId);

    // 4. Retention on this state, as on the day RETENTION_AFTER_DAYS from now: today's three
    // scores per account are then in the weekly band (the first stays, thinned; run 2's goes; the
    // baseline's is current) and the events are past their 30 days.
    beforeRetention = await tableBytes(file);
    log(`[${n0(size)}] measuring a score row with and without drivers (vacuumed copy) ...`);
    rowBytes = await scoreRowBytes(file, steady.runId);
    eventRows = Number((await run("sqlite3", ["-readonly", file, "SELECT count(*) FROM events"])).trim());
    retention = await runRetention(size, baselinePort, new Date(Date.now() + RETENTION_AFTER_DAYS * 86_400_000).toISOString().slice(0, 10));
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
  saveResult(result);
  if (!flags["keep-state"]) rmSync(stateDir, { recursive: true, force: true });
  return result;
}

if (flags["report-only"]) {
  // Rewrite the section from the figures already measured (results-*.json), measuring nothing.
  publishReport(savedResults());
  publishExportReport();
  process.exit(0);
}

const model = await ensureModel();
const workerDir = freezeWorkerSources();
const dirty = (await run("git", ["status", "--porcelain", "--", "workers", "shared", "wrangler.toml", "migrations"])).trim();
const source = `commit ${(await run("git", ["rev-parse", "--short", "HEAD"])).trim()}${dirty ? ` with uncommitted changes to ${dirty.split("\n").length} file(s) in workers/, shared/, migrations/ or wrangler.toml` : ""}`;
log(`serving a copy of the Worker's sources taken now (${path.relative(ROOT, workerDir)}), so edits during the run do not reload it`);
log(`model ${model.version} (${model.family}, ${model.trees} trees, depth ${model.depth}); sizes ${SIZES.map(n0).join(", ")}`);
for (const size of SIZES) {
  if (flags["export-only"]) {
    await measureExportOnly(size, source);
    continue;
  }
  const r = await measureSize(size, model, source);
  log(`[${n0(size)}] done: run 2 ${n0(r.runs[r.runs.length - 1].accountsPerSecond)} accounts/s; baseline ${n0(r.baseline.rowsPerSecond)} rows/s; score row ${n0(r.bytes.scoreFull)} B (${n0(r.bytes.scoreSlim)} B thinned)`);
}
if (!flags["export-only"]) publishReport(savedResults());
publishExportReport();
process.exit(0);
