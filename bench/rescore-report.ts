/**
 * `npm run bench:rescore`'s section of BENCHMARKS.md, written from every size measured so far:
 * throughput against the write-only baseline, the retention job, bytes per row, and the
 * retention arithmetic for a million accounts.
 */
import os from "node:os";
import path from "node:path";
import { DEFAULT_RETENTION, type RowBytes, retentionBudget, type Workload } from "../workers/retention/policy";
import { f, mb, n0 } from "./format";
import { replaceSection } from "./markdown";
import { ROOT } from "./processes";
import type { RunFigures, SizeResult } from "./rescore-results";
import { flags, LOAD_PAGE, RETENTION_AFTER_DAYS, WRITE_SIZE } from "./rescore-settings";

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

/** The section's body for `results` (any order). */
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

/** Writes the section from `results` (unless `--no-write`) and prints it. */
export function publishReport(results: SizeResult[]): void {
  const text = report(results);
  if (!flags["no-write"]) replaceSection(path.join(ROOT, "BENCHMARKS.md"), "rescore", "## Batch rescoring at scale (`npm run bench:rescore`)", text);
  console.log(text);
}
