/**
 * `npm run bench:rescore`'s flags, sizes and places, read by every part of the bench.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { progressLog } from "./format";
import { ROOT } from "./processes";

/** Where the bench keeps its model, each size's state and the saved figures. */
export const BENCH_DIR = path.join(ROOT, ".foresight/bench/rescore");
/** The bench model, trained once and kept between runs. */
export const MODEL_DIR = path.join(BENCH_DIR, "model");
/** Accounts generated and loaded per batch. */
export const LOAD_PAGE = 10_000;
/** Accounts per rescoring chunk (CHUNK_SIZE in workers/rescoring/chunks.ts): the baseline's ranges. */
export const CHUNK = 1000;
/** The retention job runs as on this many days from now (see measureSize, part 4). */
export const RETENTION_AFTER_DAYS = 40;
/** A run with no chunk finished for this long has stalled (see `rescore`). */
export const STALL_SECONDS = 180;
/** The consumer's rows per D1 transaction (WRITE_SIZE in workers/rescoring/chunks.ts). */
export const WRITE_SIZE = 250;

/** The command line: `--sizes`, `--changed`, `--no-write`, `--keep-state`, `--report-only`, `--export-only`. */
export const { values: flags } = parseArgs({
  options: {
    sizes: { type: "string", default: "10000,100000,1000000" },
    changed: { type: "string", default: "0.1" },
    "no-write": { type: "boolean" },
    "keep-state": { type: "boolean" },
    "report-only": { type: "boolean" },
    // Only the CRM export's memory (bench/rescore-export.ts), on a state with one rescoring run.
    "export-only": { type: "boolean" },
  },
});
/** Portfolio sizes to measure, in order. */
export const SIZES = flags.sizes!.split(",").map((s) => Number(s.trim().replace(/_/g, "")));
if (SIZES.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--sizes must be whole numbers, got ${flags.sizes}`);
/** Share of the accounts whose signals a day of ingest changes before run 2. */
export const CHANGED = Number(flags.changed);

/** Progress on stderr, with the time of day (a million accounts take about 40 minutes). */
export const log = progressLog(true);
