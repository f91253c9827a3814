/**
 * `npm run bench:rescore`'s figures: what one size measures, kept per size in
 * .foresight/bench/rescore/results-{size}.json so that the report covers every size measured so far.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { RetentionCounts } from "../workers/retention/job";
import { BENCH_DIR } from "./rescore-settings";

/** One rescoring run, as the run reports itself and as the bench followed it. */
export interface RunFigures {
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

/** Everything measured at one size. */
export interface SizeResult {
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

/** Keeps `r` as the latest figures for its size. */
export function saveResult(r: SizeResult): void {
  writeFileSync(path.join(BENCH_DIR, `results-${r.size}.json`), `${JSON.stringify(r, null, 2)}\n`);
}

/** The figures of every size measured so far, one per size. */
export function savedResults(): SizeResult[] {
  return readdirSync(BENCH_DIR)
    .filter((n) => /^results-\d+\.json$/.test(n))
    .map((n) => JSON.parse(readFileSync(path.join(BENCH_DIR, n), "utf8")) as SizeResult);
}
