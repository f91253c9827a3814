/**
 * `npm run bench:api`: the Worker's HTTP performance on the embedded local stack, started exactly
 * as a user starts it (`npm start`), in one run, with the figures written to BENCHMARKS.md.
 *
 * 1. Throughput: wrk against `GET /healthz`, `POST /v1/score` and `POST /v1/score?drivers=0`
 *    with the same threads, connections and duration, on the same server in the same run;
 *    `/v1/score` is reported as a ratio of `/healthz` (target ≥ 0.7×).
 * 2. Batch: `POST /v1/score/batch` with 1,000 Telco rows (raw features; stored account ids;
 *    features with `?drivers=3`), timed sequentially from Node over loopback (target ≤ 50 ms).
 * 3. Cold start: the first `POST /v1/score` after the server starts, which loads the model
 *    from R2, for the model `npm start` trained and for a 300-tree depth-6 GBDT artifact (in a
 *    separate state dir, so the main bench state keeps the model `npm start` chose).
 * 4. Bundle: `wrangler deploy --dry-run`, raw and gzipped (target < 300 KB gzipped, no tfjs).
 *
 * State is kept between runs under .foresight/bench/api (and api-cold): the first run seeds the
 * Telco demo and trains a model (a few minutes); later runs start in seconds. Installs wrk with
 * apt-get when it is missing. `--quick` runs short versions of every part and does not touch
 * BENCHMARKS.md (for checking the script itself).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { bundle } from "./api-bundle";
import { whileServing } from "./dev-server";
import { expectOk, request } from "./api-http";
import { type ColdSample, coldSample, sequential, timeBatch } from "./api-measure";
import { createScoreKey, type Product, startProduct } from "./api-product";
import { API_HEADING, apiReport } from "./api-report";
import { BATCH, COLD_MODEL, COLD_RESTARTS, COLD_STATE, log, MAIN_STATE, QUICK, SEQUENTIAL, WRK } from "./api-settings";
import { BATCH_ROWS, build300TreeModel, featuresOf, ONE } from "./api-telco";
import { ensureWrk, type WrkResult, wrk } from "./api-wrk";
import { loadAverage } from "./format";
import { replaceSection } from "./markdown";
import { applyLocalMigrations, freePort, HOST, ROOT, run } from "./processes";

ensureWrk();
const started = new Date();
const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const wranglerVersion = JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version as string;
const wrkVersion = (spawnSync("wrk", ["--version"], { encoding: "utf8" }).stdout || "").split("\n")[0].replace(/\s*Copyright.*$/, "").trim();
const load = loadAverage();
const machine = `${os.cpus().length} cores (${cpu}), Node ${process.version}, wrangler ${wranglerVersion}, ${wrkVersion}`;

log("bundle: wrangler deploy --dry-run ...");
const bundled = bundle();

// Part A: the main bench state, started as `npm start` leaves it.
const port = await freePort(8798);
log(`starting the product: npm start with FORESIGHT_STATE_DIR=${path.relative(ROOT, MAIN_STATE)} PORT=${port} (the first run seeds Telco and trains a model) ...`);
const main = await startProduct(MAIN_STATE, port, "main");
/** wrangler dev reloads seen during each measured phase (other edits to the source reload the Worker). */
const reloads: Record<string, number> = {};
/** Server `[ERROR]` lines per measured phase. */
const serverErrors: Record<string, number> = {};
const errorTotal = (p: Product) => [...p.errors.values()].reduce((a, v) => a + v, 0);
/** The main server's `[ERROR]` lines by message; the cold starts' are added to them. */
const mainErrors = main.errors;
const { throughput, sequentialRuns, batches, mainCold, activeModel } = await whileServing(main, 30, async () => {
  log(`ready in ${main.readySeconds.toFixed(1)} s; creating a score key without a rate limit ...`);
  const key = await createScoreKey(MAIN_STATE);
  // The server's first scoring request loads the model npm start trained: time it before anything else.
  const mainCold = await coldSample(main, key, false);
  reloads["cold start (npm start's model)"] = main.reloads();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const models = expectOk(await request(agent, port, "GET", "/v1/models?target=churn&status=active", main.adminKey), "GET /v1/models") as { models: { version: string; family: string; sizeBytes: number }[] };
  const activeModel = models.models[0];

  // Sanity: the bodies wrk will send score, with and without drivers.
  const body = JSON.stringify({ features: ONE });
  const withDrivers = expectOk(await request(agent, port, "POST", "/v1/score", key, body), "POST /v1/score") as { drivers: unknown[] };
  const noDrivers = expectOk(await request(agent, port, "POST", "/v1/score?drivers=0", key, body), "POST /v1/score?drivers=0") as { drivers: unknown[] };
  if (!withDrivers.drivers.length || noDrivers.drivers.length) throw new Error("expected drivers by default and none with ?drivers=0");

  const base = `http://${HOST}:${port}`;
  const targets = [
    { label: "GET /healthz", url: `${base}/healthz`, body: null },
    { label: "POST /v1/score (10 drivers, TreeSHAP)", url: `${base}/v1/score`, body },
    { label: "POST /v1/score?drivers=0", url: `${base}/v1/score?drivers=0`, body },
  ];
  const throughput: WrkResult[] = [];
  let errorsBefore = errorTotal(main);
  log(`throughput: wrk warm-up (${WRK.warmupSeconds} s each) ...`);
  for (const t of targets) await wrk(t.label, t.url, t.body, key, WRK.warmupSeconds);
  let before = main.reloads();
  for (const t of targets) {
    log(`throughput: ${t.label}, ${WRK.seconds} s ...`);
    throughput.push(await wrk(t.label, t.url, t.body, key, WRK.seconds));
  }
  log(`sequential latency: ${SEQUENTIAL} requests per route on one connection ...`);
  const sequentialRuns = [
    await sequential(main, agent, key, targets[0].label, "GET", "/healthz", undefined, SEQUENTIAL),
    await sequential(main, agent, key, targets[1].label, "POST", "/v1/score", body, SEQUENTIAL),
    await sequential(main, agent, key, targets[2].label, "POST", "/v1/score?drivers=0", body, SEQUENTIAL),
  ];
  reloads.throughput = main.reloads() - before;
  serverErrors["throughput (with its warm-up) and sequential latency"] = errorTotal(main) - errorsBefore;

  const features = BATCH_ROWS.map((r) => ({ features: featuresOf(r) }));
  const ids = BATCH_ROWS.map((r) => ({ accountId: r.customerID }));
  log(`batch: 1,000 rows × ${BATCH.runs} sequential requests per variant ...`);
  before = main.reloads();
  errorsBefore = errorTotal(main);
  const batches = [
    await timeBatch(main, agent, port, key, "1,000 × `features` (drivers 0, the default)", "features", "/v1/score/batch", features),
    await timeBatch(main, agent, port, key, "1,000 × `accountId` (reads the accounts from D1, appends 1,000 scores)", "accountId", "/v1/score/batch", ids),
    await timeBatch(main, agent, port, key, "1,000 × `features`, `?drivers=3`", "features with drivers=3", "/v1/score/batch?drivers=3", features),
  ];
  reloads.batch = main.reloads() - before;
  serverErrors.batch = errorTotal(main) - errorsBefore;
  agent.destroy();
  return { throughput, sequentialRuns, batches, mainCold, activeModel };
});

// Part B: a 300-tree artifact on its own state dir, the server restarted for each sample.
const big = await build300TreeModel(COLD_MODEL);
log(`cold start: ${big.version} (${big.bytes} bytes) into ${path.relative(ROOT, COLD_STATE)} ...`);
mkdirSync(COLD_STATE, { recursive: true });
await applyLocalMigrations(COLD_STATE);
const published = await run("npm", ["run", "--silent", "publish-model", "--", "--model", COLD_MODEL, "--activate"], { ...process.env, FORESIGHT_STATE_DIR: COLD_STATE });
log(published.trim().split("\n").join("; "));
const coldSamples: ColdSample[] = [];
for (let i = 0; i <= COLD_RESTARTS; i++) {
  // The last restart warms auth and D1 first, to separate the model load from other first-request costs.
  const preWarm = i === COLD_RESTARTS;
  log(`cold start ${i + 1}/${COLD_RESTARTS + 1}: npm start${preWarm ? " (auth and D1 warmed by GET /v1/models first)" : ""} ...`);
  const p = await startProduct(COLD_STATE, await freePort(port + 1), `cold ${i + 1}`);
  await whileServing(p, 30, async () => {
    coldSamples.push(await coldSample(p, p.adminKey, preWarm));
    reloads[`cold start ${i + 1}`] = p.reloads();
    serverErrors[`cold start ${i + 1}`] = errorTotal(p);
    for (const [m, c] of p.errors) mainErrors.set(m, (mainErrors.get(m) ?? 0) + c);
  });
}

const text = apiReport({ started, machine, load, port, activeModel, reloads, serverErrors, errorMessages: mainErrors, throughput, sequentialRuns, batches, mainCold, big, coldSamples, bundled });
if (!QUICK) replaceSection(path.join(ROOT, "BENCHMARKS.md"), "api", API_HEADING, text);
console.log(`${API_HEADING}\n\n${text}`);
process.exit(0);
