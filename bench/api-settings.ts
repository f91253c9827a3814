/**
 * `npm run bench:api`'s flags, sizes and places: how long each part runs (short with `--quick`)
 * and where its state lives, read by every part of the bench.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { progressLog } from "./format";
import { ROOT } from "./processes";

/** The data set every request is drawn from. */
export const TELCO = path.join(ROOT, "training/data/telco.csv");
/** wrk's script for the POSTs (the body and key come from the environment). */
export const LUA = path.join(ROOT, "bench/api-score.lua");
/** The main state dir, kept between runs (the first run seeds Telco and trains). */
export const MAIN_STATE = path.join(ROOT, ".foresight/bench/api/state");
const COLD_ROOT = path.join(ROOT, ".foresight/bench/api-cold");
/** The cold start's own state dir, so the main one keeps the model `npm start` chose. */
export const COLD_STATE = path.join(COLD_ROOT, "state");
/** Where the 300-tree artifact is built once. */
export const COLD_MODEL = path.join(COLD_ROOT, "model-300x6");

const { values: flags } = parseArgs({ options: { quick: { type: "boolean" } } });
/** `--quick`: short versions of every part, BENCHMARKS.md untouched (for checking the script itself). */
export const QUICK = Boolean(flags.quick);
/** wrk's threads, connections and seconds per route (and of the warm-up). */
export const WRK = { threads: 2, connections: 32, seconds: QUICK ? 3 : 15, warmupSeconds: QUICK ? 1 : 5 };
/** Untimed and timed requests per batch variant. */
export const BATCH = { warmup: QUICK ? 1 : 3, runs: QUICK ? 5 : 30 };
/** Restarts for the 300-tree cold start (one more, with auth and D1 warmed first). */
export const COLD_RESTARTS = QUICK ? 1 : 3;
/** Warm requests after each cold one. */
export const WARM_SINGLE = QUICK ? 5 : 30;
/** Requests per route for sequential latency. */
export const SEQUENTIAL = QUICK ? 20 : 300;
/** The cold request is sent this long after the server reports ready, when start-up work is over. */
export const SETTLE_MS = 5000;

/** Progress on stderr. */
export const log = progressLog(false);
