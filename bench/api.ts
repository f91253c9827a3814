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
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { csvRecords, parseCsv } from "../shared/csv";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelArtifact, parseArtifact, DEFAULT_TIERS } from "../shared/model/artifact";
import { GbdtScorer, gbdtSizeBytes } from "../shared/model/gbdt";
import { Scorer } from "../shared/model/scorer";
import { fitCalibration } from "../training/calibrate";
import { columnMeans, encodeMatrix, sha256Hex } from "../training/dataset";
import { trainGbdt } from "../training/gbdt";
import { inferFeatures } from "../training/infer";
import { cellToSignal } from "../training/seed";
import { replaceSection } from "./markdown";
import { freePort, HOST, run, stopGroup, trackGroup } from "./processes";

const root = path.resolve(import.meta.dirname, "..");
const TELCO = path.join(root, "training/data/telco.csv");
const WRANGLER = path.join(root, "node_modules/.bin/wrangler");
const LUA = path.join(root, "bench/api-score.lua");
const MAIN_STATE = path.join(root, ".foresight/bench/api/state");
const COLD_ROOT = path.join(root, ".foresight/bench/api-cold");
const COLD_STATE = path.join(COLD_ROOT, "state");
const COLD_MODEL = path.join(COLD_ROOT, "model-300x6");

const { values: flags } = parseArgs({ options: { quick: { type: "boolean" } } });
const QUICK = Boolean(flags.quick);
const WRK = { threads: 2, connections: 32, seconds: QUICK ? 3 : 15, warmupSeconds: QUICK ? 1 : 5 };
const BATCH = { warmup: QUICK ? 1 : 3, runs: QUICK ? 5 : 30 };
const COLD_RESTARTS = QUICK ? 1 : 3;
const WARM_SINGLE = QUICK ? 5 : 30;
const SEQUENTIAL = QUICK ? 20 : 300;
/** The cold request is sent this long after the server reports ready, when start-up work is over. */
const SETTLE_MS = 5000;

const log = (text: string) => console.error(`\x1b[36m›\x1b[0m ${text}`);

// ---------------------------------------------------------------------------------------------
// Tools

/** wrk from Debian, installed on demand (CI starts from a clean machine). */
function ensureTools(): void {
  if (spawnSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" }).status === 0) return;
  console.error("installing wrk with apt-get ...");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args];
    const r = spawnSync(cmd, rest, { stdio: ["ignore", 2, 2], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed (status ${r.status})`);
  };
  run(["apt-get", "update"]);
  run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"]);
}


// ---------------------------------------------------------------------------------------------
// The product, started as a user starts it

interface Product {
  child: ChildProcess;
  port: number;
  adminKey: string;
  /** Seconds from `npm start` to the curl example, and when that was (performance.now()). */
  readySeconds: number;
  readyAt: number;
  tail: string[];
  exited: Promise<void>;
  /** Times wrangler dev reloaded the Worker after it was ready (a source file changed). */
  reloads: () => number;
  /**
   * Durations wrangler dev logged per route ("POST /v1/score/batch"), in order: measured inside
   * workerd by miniflare's entry worker, from the request's arrival to the Worker's Response.
   */
  logged: (route: string) => number[];
  /** `[ERROR]` lines the server printed after it was ready, by message. */
  errors: Map<string, number>;
}


async function startProduct(stateDir: string, port: number, label: string): Promise<Product> {
  mkdirSync(stateDir, { recursive: true });
  const logFile = path.join(path.dirname(stateDir), `server-${label.replace(/\W+/g, "-")}.log`);
  const logStream = createWriteStream(logFile);
  let reloads = 0;
  const errors = new Map<string, number>();
  const loggedMs = new Map<string, number[]>();
  const logged = (route: string) => loggedMs.get(route) ?? loggedMs.set(route, []).get(route)!;
  const t0 = performance.now();
  const child = spawn("npm", ["start"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORESIGHT_STATE_DIR: stateDir, PORT: String(port) },
  });
  trackGroup(child);
  const tail: string[] = [];
  let forward = true;
  let pending = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve())).finally(() => logStream.end());
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start (${label}) printed no curl example within 20 minutes`)), 20 * 60_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      logStream.write(text);
      if (forward) process.stderr.write(text);
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 300) tail.shift();
        const entry = /\[wrangler:info\] ([A-Z]+ \S+) \d{3} .*\((\d+)ms\)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
        if (entry) logged(entry[1]).push(Number(entry[2]));
        const error = /\[ERROR\]\s*(.*)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
        if (!forward && error) errors.set(error[1].trim().slice(0, 240), (errors.get(error[1].trim().slice(0, 240)) ?? 0) + 1);
        if (!forward && /Reloading local server|Detected changes, restarted server/.test(line)) {
          reloads++;
          console.error(`  (${label}: wrangler dev reloaded the Worker: a source file changed during the run; see ${path.relative(root, logFile)})`);
        }
        const m = /Authorization: Bearer (fs_[A-Za-z0-9_-]+)/.exec(line);
        if (m && line.includes(`/v1/score`)) {
          clearTimeout(timer);
          resolve(m[1]);
        }
        if (line.includes("did not answer /healthz")) reject(new Error(`npm start (${label}): ${line}`));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start (${label}) exited with ${code} before it was ready; last output:\n${tail.slice(-40).join("\n")}`));
    });
  });
  try {
    const adminKey = await ready;
    forward = false;
    return { child, port, adminKey, readySeconds: (performance.now() - t0) / 1000, readyAt: performance.now(), tail, exited, reloads: () => reloads, logged, errors };
  } catch (e) {
    await stopGroup({ child, exited });
    throw e;
  }
}


async function createScoreKey(stateDir: string): Promise<string> {
  const out = await run("npm", ["run", "--silent", "create-key", "--", "--scopes", "score", "--rate-limit", "0", "--name", "bench:api load test"], { ...process.env, FORESIGHT_STATE_DIR: stateDir });
  const key = out.trim().split("\n").at(-1)!.trim();
  if (!key.startsWith("fs_")) throw new Error(`create-key printed no key: ${out}`);
  return key;
}

// ---------------------------------------------------------------------------------------------
// HTTP from Node

interface Reply {
  status: number;
  body: Buffer;
  ms: number;
  headers: http.IncomingHttpHeaders;
}

function request(agent: http.Agent, port: number, method: string, urlPath: string, key?: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const t0 = performance.now();
    const req = http.request({ host: HOST, port, method, path: urlPath, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - t0, headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function expectOk(r: Reply, what: string): Record<string, unknown> {
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 500)}`);
  return JSON.parse(r.body.toString("utf8"));
}

interface Stats {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, min: s[0], median, p95: at(0.95), max: s[s.length - 1] };
}

// ---------------------------------------------------------------------------------------------
// Telco rows as the API takes them

const telco = csvRecords(parseCsv(readFileSync(TELCO, "utf8")));
function featuresOf(r: Record<string, string>): Record<string, string | number | null> {
  const features: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(r)) if (k !== "customerID" && k !== "Churn") features[k] = cellToSignal(v) as string | number | null;
  return features;
}
const ONE = featuresOf(telco[0]);
const BATCH_ROWS = telco.slice(0, 1000);

// ---------------------------------------------------------------------------------------------
// wrk

interface WrkResult {
  label: string;
  command: string;
  rps: number;
  requests: number;
  seconds: number;
  avgMs: number;
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  non2xx: number;
  socketErrors: string;
}

const toMs = (v: string, unit: string) => Number(v) * ({ us: 1e-3, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit];

function parseWrk(label: string, command: string, out: string): WrkResult {
  const need = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`could not read ${re} from wrk's output:\n${out}`);
    return m;
  };
  const pct = (p: number) => {
    const m = need(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
    return toMs(m[1], m[2]);
  };
  const total = need(/(\d+) requests in ([\d.]+)(us|ms|s|m),/);
  const avg = need(/Latency\s+([\d.]+)(us|ms|s|m)/);
  const sock = /Socket errors: (.*)/.exec(out);
  return {
    label,
    command,
    rps: Number(need(/Requests\/sec:\s+([\d.]+)/)[1]),
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    avgMs: toMs(avg[1], avg[2]),
    p50: pct(50),
    p75: pct(75),
    p90: pct(90),
    p99: pct(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock[1].trim() : "none",
  };
}

function wrkArgs(seconds: number, url: string, post: boolean): string[] {
  return [`-t${WRK.threads}`, `-c${WRK.connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", ...(post ? ["-s", path.relative(root, LUA)] : []), url];
}

async function wrk(label: string, url: string, body: string | null, key: string, seconds: number): Promise<WrkResult> {
  const args = wrkArgs(seconds, url, body !== null);
  const env = { ...process.env, FORESIGHT_BENCH_BODY: body ?? "", FORESIGHT_BENCH_KEY: key };
  const out = await run("wrk", args, env);
  return parseWrk(label, `wrk ${args.join(" ")}`, out);
}

// ---------------------------------------------------------------------------------------------
// The 300-tree artifact for the cold start

/**
 * A depth-6, 300-tree GBDT on all of Telco with Telco's own feature spec (so `/v1/score` takes
 * Telco signals), calibrated in-sample: a realistic size and shape for a large tree model, not a
 * model to ship. Built once and kept in COLD_MODEL.
 */
function build300TreeModel(dir: string): { version: string; bytes: number; trees: number; maxDepth: number; trainMs: number | null } {
  const file = path.join(dir, "model.json");
  if (!existsSync(file)) {
    log("building a 300-tree depth-6 GBDT artifact on Telco (trainGbdt, no early stopping) ...");
    const csv = parseCsv(readFileSync(TELCO, "utf8"));
    const records = csvRecords(csv);
    const y = Uint8Array.from(records, (r) => (r.Churn === "Yes" ? 1 : 0));
    const { features } = inferFeatures(csv, { label: "Churn", id: "customerID" });
    const baseline = columnMeans(encodeMatrix(features, records));
    const nan = encodeMatrix(features, records, undefined, true);
    const fit = trainGbdt(nan.x, y, nan.rows, nan.cols, { rounds: 300, maxDepth: 6, learningRate: 0.05, earlyStoppingRounds: 0, seed: 42 });
    const margins = new Float64Array(nan.rows);
    new GbdtScorer(fit.params).marginBatch(nan.x, nan.rows, nan.cols, margins);
    const positives = y.reduce((a, v) => a + v, 0);
    const artifact: ModelArtifact = {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      version: `churn-bench-300x6-${sha256Hex(JSON.stringify(fit.params)).slice(0, 6)}`,
      createdAt: new Date().toISOString(),
      target: "churn",
      label: { column: "Churn", positive: "Yes" },
      idColumn: "customerID",
      arrColumn: "MonthlyCharges",
      features,
      baseline,
      model: fit.params,
      calibration: fitCalibration(margins, y),
      tiers: { ...DEFAULT_TIERS },
      metrics: { family: "gbdt", recipe: "bench:api cold start: 300 trees, depth 6, lr 0.05, no early stopping, in-sample calibration", treeBytesBase64: gbdtSizeBytes(fit.params), trainMs: Math.round(fit.ms) },
      training: { dataSha256: sha256Hex(readFileSync(TELCO)), dataFile: "telco.csv", rows: records.length, positives, holdoutRows: 0, seed: 42, excludedColumns: [] },
    };
    const json = `${JSON.stringify(artifact, null, 2)}\n`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, json);
    writeFileSync(`${file}.sha256`, `${sha256Hex(json)}  model.json\n`);
  }
  const json = readFileSync(file);
  const artifact = parseArtifact(JSON.parse(json.toString("utf8")));
  const m = artifact.model;
  if (m.family !== "gbdt" || m.trees !== 300) throw new Error(`${file} is not a 300-tree GBDT; delete ${dir} and run again`);
  // The Worker's own scorer must take a Telco row, or the route would 422.
  new Scorer(artifact).score(ONE, 3);
  return { version: artifact.version, bytes: json.byteLength, trees: m.trees, maxDepth: m.maxDepth, trainMs: typeof artifact.metrics.trainMs === "number" ? artifact.metrics.trainMs : null };
}

// ---------------------------------------------------------------------------------------------
// Parts

/** The `count` durations logged for `route` from index `start` on (wrangler prints them asynchronously). */
async function loggedSince(p: Product, route: string, start: number, count: number): Promise<number[]> {
  for (let i = 0; i < 50 && p.logged(route).length < start + count; i++) await new Promise((r) => setTimeout(r, 100));
  return p.logged(route).slice(start, start + count);
}

interface ColdSample {
  firstMs: number;
  warm: Stats;
  /** workerd-logged durations (see Product.logged) of the first and the warm requests. */
  loggedFirstMs: number | null;
  loggedWarm: Stats | null;
  /** First request after warming auth and D1 with GET /v1/models (the model not yet loaded). */
  preWarmedAuth: boolean;
}

/** Times the first POST /v1/score on a fresh server, then warm ones on the same connection. */
async function coldSample(p: Product, key: string, preWarmAuth: boolean): Promise<ColdSample> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // npm start, wrangler and workerd are still busy for a moment after the curl line; on 2 cores
    // that would be timed too. Every sample waits the same time after ready.
    await new Promise((r) => setTimeout(r, Math.max(0, p.readyAt + SETTLE_MS - performance.now())));
    // Open the connection first, so the first timed request does not include the TCP connect.
    expectOk(await request(agent, p.port, "GET", "/healthz"), "GET /healthz");
    if (preWarmAuth) expectOk(await request(agent, p.port, "GET", "/v1/models?target=churn&status=active", p.adminKey), "GET /v1/models");
    const body = JSON.stringify({ features: ONE });
    const logStart = p.logged("POST /v1/score").length;
    const first = await request(agent, p.port, "POST", "/v1/score", key, body);
    expectOk(first, "first POST /v1/score");
    const warm: number[] = [];
    for (let i = 0; i < WARM_SINGLE; i++) {
      const r = await request(agent, p.port, "POST", "/v1/score", key, body);
      expectOk(r, "POST /v1/score");
      warm.push(r.ms);
    }
    const logged = await loggedSince(p, "POST /v1/score", logStart, 1 + WARM_SINGLE);
    const complete = logged.length === 1 + WARM_SINGLE;
    return { firstMs: first.ms, warm: stats(warm), loggedFirstMs: complete ? logged[0] : null, loggedWarm: complete ? stats(logged.slice(1)) : null, preWarmedAuth: preWarmAuth };
  } finally {
    agent.destroy();
  }
}

interface SequentialResult {
  label: string;
  wall: Stats;
  logged: Stats | null;
}

/** `n` requests one after another on one keep-alive connection: latency without queueing. */
async function sequential(p: Product, agent: http.Agent, key: string, label: string, method: string, urlPath: string, body: string | undefined, n: number): Promise<SequentialResult> {
  const route = `${method} ${urlPath.split("?")[0]}`;
  const start = p.logged(route).length;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(agent, p.port, method, urlPath, body === undefined ? undefined : key, body);
    if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 300)}`);
    times.push(r.ms);
  }
  const logged = await loggedSince(p, route, start, n);
  return { label, wall: stats(times), logged: logged.length === n ? stats(logged) : null };
}

interface BatchResult {
  label: string;
  short: string;
  request: string;
  bodyBytes: number;
  responseBytes: number;
  times: Stats;
  /** wrangler dev's logged durations of the timed requests, when every one was logged. */
  logged: Stats | null;
  serverTiming: string | null;
}

async function timeBatch(p: Product, agent: http.Agent, port: number, key: string, label: string, short: string, urlPath: string, rows: unknown[]): Promise<BatchResult> {
  const body = JSON.stringify({ rows });
  const logStart = p.logged("POST /v1/score/batch").length;
  let last: Reply | undefined;
  const times: number[] = [];
  for (let i = 0; i < BATCH.warmup + BATCH.runs; i++) {
    const r = await request(agent, port, "POST", urlPath, key, body);
    if (r.status !== 200) throw new Error(`${label}: HTTP ${r.status}: ${r.body.toString("utf8").slice(0, 500)}`);
    if (i >= BATCH.warmup) times.push(r.ms);
    last = r;
  }
  const logged = (await loggedSince(p, "POST /v1/score/batch", logStart, BATCH.warmup + BATCH.runs)).slice(BATCH.warmup);
  const parsed = JSON.parse(last!.body.toString("utf8")) as { scored: number; failed: number; results: { drivers?: unknown[] }[] };
  if (parsed.scored !== rows.length || parsed.failed !== 0) throw new Error(`${label}: scored ${parsed.scored} of ${rows.length}, failed ${parsed.failed}`);
  const st = last!.headers["server-timing"];
  return { label, short, request: `POST ${urlPath}`, bodyBytes: Buffer.byteLength(body), responseBytes: last!.body.byteLength, times: stats(times), logged: logged.length === BATCH.runs ? stats(logged) : null, serverTiming: st ? String(st) : null };
}

function bundle(): { rawBytes: number; gzipBytes: number; files: string[]; tfjs: string[]; wranglerReport: string | null } {
  const out = mkdtempSync(path.join(os.tmpdir(), "foresight-bundle-"));
  try {
    const r = spawnSync(WRANGLER, ["deploy", "--dry-run", "--outdir", out], { cwd: root, encoding: "utf8", env: { ...process.env, CI: "true" } });
    if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}\n${r.stderr}`);
    const files = readdirSync(out, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.(m?js)$/.test(e.name))
      .map((e) => path.join(e.parentPath, e.name));
    let rawBytes = 0;
    let gzipBytes = 0;
    const tfjs = new Set<string>();
    for (const f of files) {
      const bytes = readFileSync(f);
      rawBytes += bytes.byteLength;
      gzipBytes += gzipSync(bytes).byteLength;
      for (const m of bytes.toString("utf8").matchAll(/@tensorflow\/[a-z0-9-]+|tfjs-[a-z0-9-]+/g)) tfjs.add(m[0]);
    }
    const report = /Total Upload: ([^\n]+)/.exec(`${r.stdout}\n${r.stderr}`);
    return { rawBytes, gzipBytes, files: files.map((f) => path.relative(out, f)), tfjs: [...tfjs], wranglerReport: report ? report[1].trim() : null };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Formatting

const f = (v: number | null | undefined, d = 1) => (v == null || !Number.isFinite(v) ? "—" : v.toFixed(d));
const n0 = (v: number) => Math.round(v).toLocaleString("en-US");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

// ---------------------------------------------------------------------------------------------
// The run

ensureTools();
const started = new Date();
const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const wranglerVersion = JSON.parse(readFileSync(path.join(root, "node_modules/wrangler/package.json"), "utf8")).version as string;
const wrkVersion = (spawnSync("wrk", ["--version"], { encoding: "utf8" }).stdout || "").split("\n")[0].replace(/\s*Copyright.*$/, "").trim();
const load = os.loadavg().map((v) => v.toFixed(2)).join(", ");
const machine = `${os.cpus().length} cores (${cpu}), Node ${process.version}, wrangler ${wranglerVersion}, ${wrkVersion}`;

log("bundle: wrangler deploy --dry-run ...");
const bundled = bundle();

// Part A: the main bench state, started as `npm start` leaves it.
const port = await freePort(8798);
log(`starting the product: npm start with FORESIGHT_STATE_DIR=${path.relative(root, MAIN_STATE)} PORT=${port} (the first run seeds Telco and trains a model) ...`);
const main = await startProduct(MAIN_STATE, port, "main");
const throughput: WrkResult[] = [];
let batches: BatchResult[] = [];
let sequentialRuns: SequentialResult[] = [];
let mainCold: ColdSample | undefined;
let activeModel: { version: string; family: string; sizeBytes: number } | undefined;
/** wrangler dev reloads seen during each measured phase (other edits to the source reload the Worker). */
const reloads: Record<string, number> = {};
/** Server `[ERROR]` lines per measured phase. */
const serverErrors: Record<string, number> = {};
const errorTotal = (p: Product) => [...p.errors.values()].reduce((a, v) => a + v, 0);
let mainErrors = new Map<string, number>();
try {
  log(`ready in ${main.readySeconds.toFixed(1)} s; creating a score key without a rate limit ...`);
  const key = await createScoreKey(MAIN_STATE);
  // The server's first scoring request loads the model npm start trained: time it before anything else.
  mainCold = await coldSample(main, key, false);
  reloads["cold start (npm start's model)"] = main.reloads();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const models = expectOk(await request(agent, port, "GET", "/v1/models?target=churn&status=active", main.adminKey), "GET /v1/models") as { models: { version: string; family: string; sizeBytes: number }[] };
  activeModel = models.models[0];

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
  let errorsBefore = errorTotal(main);
  log(`throughput: wrk warm-up (${WRK.warmupSeconds} s each) ...`);
  for (const t of targets) await wrk(t.label, t.url, t.body, key, WRK.warmupSeconds);
  let before = main.reloads();
  for (const t of targets) {
    log(`throughput: ${t.label}, ${WRK.seconds} s ...`);
    throughput.push(await wrk(t.label, t.url, t.body, key, WRK.seconds));
  }
  log(`sequential latency: ${SEQUENTIAL} requests per route on one connection ...`);
  sequentialRuns = [
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
  batches = [
    await timeBatch(main, agent, port, key, "1,000 × `features` (drivers 0, the default)", "features", "/v1/score/batch", features),
    await timeBatch(main, agent, port, key, "1,000 × `accountId` (reads the accounts from D1, appends 1,000 scores)", "accountId", "/v1/score/batch", ids),
    await timeBatch(main, agent, port, key, "1,000 × `features`, `?drivers=3`", "features with drivers=3", "/v1/score/batch?drivers=3", features),
  ];
  reloads.batch = main.reloads() - before;
  serverErrors.batch = errorTotal(main) - errorsBefore;
  agent.destroy();
} catch (e) {
  console.error(`server output before the failure:\n${main.tail.slice(-30).join("\n")}`);
  throw e;
} finally {
  mainErrors = main.errors;
  await stopGroup(main);
}

// Part B: a 300-tree artifact on its own state dir, the server restarted for each sample.
const big = build300TreeModel(COLD_MODEL);
log(`cold start: ${big.version} (${big.bytes} bytes) into ${path.relative(root, COLD_STATE)} ...`);
mkdirSync(COLD_STATE, { recursive: true });
await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", COLD_STATE], { ...process.env, CI: "true" });
const published = await run("npm", ["run", "--silent", "publish-model", "--", "--model", COLD_MODEL, "--activate"], { ...process.env, FORESIGHT_STATE_DIR: COLD_STATE });
log(published.trim().split("\n").join("; "));
const coldSamples: ColdSample[] = [];
for (let i = 0; i <= COLD_RESTARTS; i++) {
  // The last restart warms auth and D1 first, to separate the model load from other first-request costs.
  const preWarm = i === COLD_RESTARTS;
  log(`cold start ${i + 1}/${COLD_RESTARTS + 1}: npm start${preWarm ? " (auth and D1 warmed by GET /v1/models first)" : ""} ...`);
  const p = await startProduct(COLD_STATE, await freePort(port + 1), `cold ${i + 1}`);
  try {
    coldSamples.push(await coldSample(p, p.adminKey, preWarm));
    reloads[`cold start ${i + 1}`] = p.reloads();
    serverErrors[`cold start ${i + 1}`] = errorTotal(p);
    for (const [m, c] of p.errors) mainErrors.set(m, (mainErrors.get(m) ?? 0) + c);
  } catch (e) {
    console.error(`server output before the failure:\n${p.tail.slice(-30).join("\n")}`);
    throw e;
  } finally {
    await stopGroup(p);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const [health, score, scoreNoDrivers] = throughput;
const ratio = score.rps / health.rps;
const ratioNoDrivers = scoreNoDrivers.rps / health.rps;
const wrkLine = `wrk ${wrkArgs(WRK.seconds, `http://${HOST}:${port}/<route>`, true).join(" ")}`;
const coldPlain = coldSamples.filter((s) => !s.preWarmedAuth);
const coldWarmed = coldSamples.find((s) => s.preWarmedAuth);
const loadCost = (s: ColdSample) => s.firstMs - s.warm.median;
const coldRow = (name: string, bytes: number, s: ColdSample) =>
  `| ${name} | ${n0(bytes)} bytes | ${f(s.firstMs)} ms | ${f(s.warm.median, 2)} ms | ${f(loadCost(s))} ms | ${s.loggedFirstMs !== null && s.loggedWarm ? `${s.loggedFirstMs} ms / ${f(s.loggedWarm.median, 0)} ms` : "—"} |`;
const median = (v: number[]) => stats(v).median;
const BATCH_TARGET_MS = 50;
const BUNDLE_TARGET = 300 * 1024;

const text = [
  `Run ${started.toISOString()} on ${machine}; load average at start ${load}.${QUICK ? " **Quick run (--quick): short durations, not recorded.**" : ""}`,
  "",
  `The product runs as a user runs it: \`npm start\` (wrangler dev, workerd with local D1 and R2) with \`FORESIGHT_STATE_DIR=${path.relative(root, MAIN_STATE)}\`, active model ${activeModel!.version} (${activeModel!.family}, ${n0(activeModel!.sizeBytes)} bytes). Load-test key: \`create-key --scopes score --rate-limit 0\`. Every request goes through wrangler dev's local proxy, which also logs it; the deployed Worker has neither.`,
  "",
  `wrangler dev reloads of the Worker during measurement (it rebuilds when a source file changes, e.g. other work in the checkout): ${Object.values(reloads).every((v) => v === 0) ? "none" : `**${Object.entries(reloads).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join(", ")}; the figures of those phases include a restarted isolate**`}.`,
  "",
  `Errors the server printed (\`[ERROR]\` lines in wrangler dev's output) while measuring: ${Object.values(serverErrors).every((v) => v === 0) ? "none" : `**${Object.entries(serverErrors).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join(", ")}**: ${[...mainErrors].map(([m, c]) => `${c} × “${m}”`).join("; ")}`}.`,
  "",
  "### Throughput (wrk, same server, same run)",
  "",
  `Command: \`${wrkLine}\` (the POSTs use \`-s bench/api-score.lua\`: a ${Buffer.byteLength(JSON.stringify({ features: ONE }))}-byte Telco customer and the bearer key; \`/healthz\` is the same without \`-s\`), each route after a ${WRK.warmupSeconds} s warm-up.`,
  "",
  "| route | requests/s | ratio to /healthz | latency p50 | p75 | p90 | p99 | requests | non-2xx | socket errors |",
  "|---|---|---|---|---|---|---|---|---|---|",
  ...throughput.map((t) => `| ${t.label} | ${n0(t.rps)} | ${f(t.rps / health.rps, 2)}× | ${f(t.p50, 2)} ms | ${f(t.p75, 2)} ms | ${f(t.p90, 2)} ms | ${f(t.p99, 2)} ms | ${n0(t.requests)} | ${t.non2xx} | ${t.socketErrors} |`),
  "",
  `Target: \`POST /v1/score\` ≥ 0.7× \`/healthz\`. Measured: ${f(ratio, 2)}× with drivers (${verdict(ratio >= 0.7)}${score.non2xx ? `, but with ${score.non2xx} failed responses` : ""}), ${f(ratioNoDrivers, 2)}× with \`?drivers=0\` (${verdict(ratioNoDrivers >= 0.7)}${scoreNoDrivers.non2xx ? `, but with ${scoreNoDrivers.non2xx} failed responses` : ""}). Non-2xx responses (must be 0): ${throughput.every((t) => t.non2xx === 0) ? "0 on every route" : `**${throughput.map((t) => `${t.label}: ${t.non2xx}`).join(", ")}; NOT clean, see the server errors above**`}. wrk, workerd and wrangler's Node process share the same ${os.cpus().length} cores, and every request on the local stack also passes wrangler dev's proxy and request log, a cost the same for every route: the ratio holds for this stack, not for the deployed Worker.`,
  "",
  `Sequential latency, for the cost of one request without queueing: ${SEQUENTIAL} requests per route, one after another on one keep-alive connection from Node; wall time, and the duration wrangler dev logs for each request inside workerd (whole milliseconds; see the batch part).`,
  "",
  "| route | wall median | wall p95 | workerd-logged median | workerd-logged p95 |",
  "|---|---|---|---|---|",
  ...sequentialRuns.map((r) => `| ${r.label} | ${f(r.wall.median, 2)} ms | ${f(r.wall.p95, 2)} ms | ${r.logged ? `${f(r.logged.median, 0)} ms` : "—"} | ${r.logged ? `${f(r.logged.p95, 0)} ms` : "—"} |`),
  "",
  "### Batch scoring, 1,000 Telco rows per request",
  "",
  `${BATCH.runs} sequential requests per variant after ${BATCH.warmup} warm-up, one keep-alive connection from Node over loopback. **Wall time** is from writing the request (body serialised beforehand) to the last byte of the response (not parsed in the timing): it includes the upload and download of the JSON and wrangler dev's local proxy, so it is an upper bound on the time spent in the Worker. **workerd-logged** is the duration wrangler dev prints for each request (\`[wrangler:info] POST /v1/score/batch 200 OK (N ms)\`), measured inside workerd by miniflare's entry worker that wraps the Worker, from the request's arrival to the Worker's Response; it excludes Node and the response transfer but still includes reading the request body, whole milliseconds. ${batches.some((b) => b.serverTiming) ? `The response carries \`Server-Timing\`: ${batches.map((b) => `${b.label}: ${b.serverTiming}`).join("; ")}.` : "The response has no `Server-Timing` header, so the Worker's own time is not measured directly."}`,
  "",
  "| request | body | response | wall min | wall median | wall p95 | wall max | workerd-logged median (p95) | rows/s at wall median |",
  "|---|---|---|---|---|---|---|---|---|",
  ...batches.map((b) => `| ${b.label}: \`${b.request}\` | ${kb(b.bodyBytes)} | ${kb(b.responseBytes)} | ${f(b.times.min)} ms | ${f(b.times.median)} ms | ${f(b.times.p95)} ms | ${f(b.times.max)} ms | ${b.logged ? `${f(b.logged.median, 0)} ms (${f(b.logged.p95, 0)} ms)` : "—"} | ${n0(1000 / (b.times.median / 1000))} |`),
  "",
  `Target: ≤ ${BATCH_TARGET_MS} ms server time for 1,000 rows, judged on the workerd-logged median (the closest figure to server time measured here; the wall time bounds it from above): ${batches.map((b) => `${b.short} ${b.logged ? `${f(b.logged.median, 0)} ms` : "not logged"}, wall ${f(b.times.median)} ms (${b.logged ? verdict(b.logged.median <= BATCH_TARGET_MS) : b.times.median <= BATCH_TARGET_MS ? "met" : "not determined"})`).join("; ")}. For scale, a sequential \`GET /healthz\`, which does no work in the Worker, logs ${sequentialRuns[0].logged ? `${f(sequentialRuns[0].logged.median, 0)} ms` : "—"} median: the local stack's fixed cost per request, included in every logged figure. Each \`accountId\` request appends 1,000 rows to the score history of the bench state.`,
  "",
  "### Cold start: first `POST /v1/score` after the server starts (model loaded from R2)",
  "",
  `Sent ${SETTLE_MS / 1000} s after the server printed its curl example (so the start-up work of npm start, wrangler and workerd is over) and timed from Node on an open keep-alive connection (a \`GET /healthz\` first), so the TCP connect is excluded; warm = median of the next ${WARM_SINGLE} requests. Load cost = first − warm (wall times). The workerd-logged column is wrangler dev's logged duration of the same requests (see the batch part). The 300-tree model lives in its own state dir (\`${path.relative(root, COLD_STATE)}\`), published with \`npm run publish-model -- --model ${path.relative(root, COLD_MODEL)} --activate\`; the server is restarted (\`npm start\`, a new workerd isolate) for each sample.`,
  "",
  "| model | artifact | first request | warm (median) | load cost | workerd-logged first / warm |",
  "|---|---|---|---|---|---|",
  coldRow(`${activeModel!.version} (${activeModel!.family}, as \`npm start\` trained it)`, activeModel!.sizeBytes, mainCold!),
  ...coldPlain.map((s, i) => coldRow(`${big.version} (${big.trees} trees, depth ${big.maxDepth}), start ${i + 1}`, big.bytes, s)),
  ...(coldWarmed ? [coldRow("same, auth and D1 warmed first by `GET /v1/models`", big.bytes, coldWarmed)] : []),
  "",
  `300-tree load cost, median of ${coldPlain.length} starts: ${f(median(coldPlain.map(loadCost)))} ms${coldWarmed ? `; with auth and D1 already warm, ${f(loadCost(coldWarmed))} ms` : ""}. The first request also pays for the key lookup, the D1 model pointer and the first run of the scoring code, not only the R2 read, the sha256 check and the parse; there is no stated target.`,
  "",
  "### Worker bundle (`wrangler deploy --dry-run --outdir`)",
  "",
  "| files | raw | gzipped (zlib, default level) | wrangler's own report | tfjs in bundle |",
  "|---|---|---|---|---|",
  `| ${bundled.files.join(", ")} | ${kb(bundled.rawBytes)} (${n0(bundled.rawBytes)} bytes) | ${kb(bundled.gzipBytes)} (${n0(bundled.gzipBytes)} bytes) | ${bundled.wranglerReport ?? "—"} | ${bundled.tfjs.length ? `**yes: ${bundled.tfjs.join(", ")}**` : "no"} |`,
  "",
  `Target: < 300 KB gzipped (taken as 300 KiB = ${n0(BUNDLE_TARGET)} bytes) and no tfjs. Measured: ${kb(bundled.gzipBytes)} (${verdict(bundled.gzipBytes < BUNDLE_TARGET)}; also ${verdict(bundled.gzipBytes < 300_000)} at 300,000 bytes), tfjs ${bundled.tfjs.length ? "present (NOT met)" : "absent (met)"}.`,
].join("\n");

if (!QUICK) replaceSection(path.join(root, "BENCHMARKS.md"), "api", "## API performance on the local stack (`npm run bench:api`)", text);
console.log(`## API performance on the local stack (\`npm run bench:api\`)\n\n${text}`);
process.exit(0);
