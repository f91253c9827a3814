/**
 * The data `npm run bench:rescore` scores: the bench model (trained once on a labelled sample of
 * the generator), a size's synthetic portfolio loaded in bulk into local D1 through the platform
 * proxy with the model published and a key, and the day of ingest that changes a share of it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bulkSnapshotStatements, bulkUpsertAccountStatements } from "../shared/db/accounts";
import { createLocalKey } from "../training/keys";
import { openLocalPlatform } from "../training/platform";
import { publishLocal } from "../training/registry";
import { f, n0 } from "./format";
import { run } from "./processes";
import { labelledSampleCsv, PORTFOLIO_SEED, syntheticAccount } from "./rescore-data";
import { BENCH_DIR, LOAD_PAGE, log, MODEL_DIR } from "./rescore-settings";

/** The bench model, as the report names it. */
export interface BenchModel {
  version: string;
  family: string;
  trees: number | null;
  depth: number | null;
  features: number;
}

/** Runs `fn` on the local platform (bindings through wrangler's proxy) of a state dir. */
export async function withPlatform<T>(stateDir: string, fn: (env: Env) => Promise<T>): Promise<T> {
  process.env.FORESIGHT_STATE_DIR = stateDir;
  const platform = await openLocalPlatform();
  try {
    return await fn(platform.env);
  } finally {
    await platform.dispose();
  }
}

/** The bench model in MODEL_DIR, trained by `npm run train` the first time. */
export async function ensureModel(): Promise<BenchModel> {
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

/** A timed load step. */
export interface Rate {
  seconds: number;
  perSecond: number;
}

/**
 * Loads `size` accounts, then one signal snapshot each dated `today`, in bulk; publishes and
 * activates the bench model; and creates an admin key without a rate limit.
 */
export async function loadPortfolio(stateDir: string, size: number, today: string): Promise<{ load: Rate; snapshots: Rate; key: string }> {
  return withPlatform(stateDir, async (env) => {
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
}

/**
 * A day of ingest: every `every`-th account gets new signals and a snapshot dated `asOf`, as a
 * differently seeded portfolio draws them (same ids).
 */
export async function changeSignals(stateDir: string, size: number, every: number, asOf: string): Promise<{ accounts: number; seconds: number }> {
  return withPlatform(stateDir, async (env) => {
    const t0 = performance.now();
    let changed = 0;
    for (let from = 0; from < size; from += LOAD_PAGE) {
      const rows = [];
      for (let i = from; i < Math.min(size, from + LOAD_PAGE); i++) {
        if (i % every !== 0) continue;
        const next = syntheticAccount(i, PORTFOLIO_SEED + 1000);
        rows.push({ ...syntheticAccount(i, PORTFOLIO_SEED), features: next.features });
      }
      changed += rows.length;
      if (rows.length) await env.DB.batch(bulkUpsertAccountStatements(env.DB, rows, { asOf }));
    }
    return { accounts: changed, seconds: (performance.now() - t0) / 1000 };
  });
}
