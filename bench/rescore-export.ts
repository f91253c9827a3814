/**
 * `npm run bench:rescore`'s CRM export measurement, apart from the rescoring figures: on a size's
 * state with every account scored, with the Worker served by `wrangler dev`,
 * 1. streams `GET /v1/exports/scores.csv` to the end (reading and discarding it, as a CRM's import
 *    would read it), and
 * 2. runs the daily export job (`POST /v1/exports`, then the export queue's consumer writes the
 *    gzipped CSV to local R2 in 5 MiB parts), followed in the local D1 file,
 * each time recording the workerd process's resident memory: its peak (VmHWM in /proc/<pid>/status,
 * reset through /proc/<pid>/clear_refs just before) and VmRSS sampled every 100 ms. Memory that
 * does not grow with the row count is what "bounded" means here. `--export-only` measures only
 * this (load, every account scored, then the export), without the rescoring section.
 * Figures go to .foresight/bench/rescore/export-{size}.json and BENCHMARKS.md's `rescore-export`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { f, loadAverage, mb, n0 } from "./format";
import { replaceSection } from "./markdown";
import { applyLocalMigrations, freePort, HOST, ROOT, run } from "./processes";
import { d1File } from "./rescore-bytes";
import { PORTFOLIO_SEED, syntheticAccount } from "./rescore-data";
import { type Server, startServer } from "./rescore-server";
import { BENCH_DIR, flags, log } from "./rescore-settings";
import { loadPortfolio } from "./rescore-state";
import { whileServing } from "./dev-server";

/** Memory of one measured step, in bytes. */
interface Memory {
  /** VmRSS just before the step. */
  before: number;
  /** VmHWM at the end (peak resident memory during the step; reset before it). */
  peak: number;
  /** The largest VmRSS sampled every 100 ms. */
  sampledMax: number;
  samples: number;
  /**
   * The resident set split as /proc reports it, before the step and at its largest sample:
   * anonymous memory (the V8 heap, malloc'd buffers, SQLite's page cache) and file-backed pages.
   */
  anonBefore: number;
  anonMax: number;
  fileBefore: number;
  fileMax: number;
}

export interface ExportFigures {
  size: number;
  at: string;
  loadAverage: string;
  source: string;
  /** Scored accounts in the state: the rows both exports hold. */
  rows: number;
  stream: StreamFigures;
  streamAgain: StreamFigures;
  daily: { seconds: number; rows: number; bytes: number; status: string; memory: Memory };
  /** The Worker isolate's heap before and after a stream (`workerHeap`), asked only after the steps above. */
  heap: { before: Heap; afterStream: Heap };
  control: { walk: Memory; walkAgain: Memory; seconds: number[] };
}

/** The workerd processes of the server's process group. */
function workerdPids(server: Server): number[] {
  const group = server.child.pid!;
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
        return pgrp === group && comm === "workerd" ? [Number(d)] : [];
      } catch {
        return []; // exited meanwhile
      }
    });
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** The workerd process that serves the Worker: it listens on the server's port (`--socket-addr=entry=HOST:PORT`). */
function servingPid(server: Server): number {
  const pids = workerdPids(server);
  const pid = pids.find((p) => readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`entry=${HOST}:${server.port}`));
  if (pid === undefined) throw new Error(`no workerd process serving port ${server.port} in the server's process group (found ${pids.join(", ") || "none"})`);
  return pid;
}

/** The DevTools endpoint of the workerd process (wrangler dev's inspector): another port it listens on that answers /json. */
async function inspectorUrl(server: Server): Promise<string | null> {
  const pid = servingPid(server);
  const ports = (await run("ss", ["-ltnpH"])).split("\n").flatMap((l) => {
    const m = new RegExp(`${HOST.replace(/\./g, "\\.")}:(\\d+)\\s.*pid=${pid},`).exec(l);
    return m && Number(m[1]) !== server.port ? [Number(m[1])] : [];
  });
  for (const port of ports) {
    try {
      const targets = (await (await fetch(`http://${HOST}:${port}/json`)).json()) as { webSocketDebuggerUrl?: string }[];
      if (targets[0]?.webSocketDebuggerUrl) return targets[0].webSocketDebuggerUrl;
    } catch {
      // not the inspector
    }
  }
  return null;
}

// A child node asks the inspector, with the \`ws\` package wrangler installs (workerd's inspector
// refuses Node 20's experimental WebSocket's handshake).
const HEAP_SCRIPT = `const WebSocket = require(${JSON.stringify(path.join(ROOT, "node_modules/ws"))});
const ws = new WebSocket(process.argv[1]);
ws.on("open", () => ws.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" })));
ws.on("message", (m) => { const d = JSON.parse(m); if (d.id === 1) { console.log(JSON.stringify(d.result)); process.exit(0); } });
ws.on("error", () => process.exit(1));
setTimeout(() => process.exit(1), 20000);`;

/**
 * The V8 heap of the Worker's isolate (DevTools `Runtime.getHeapUsage`), asked between requests:
 * the inspector answers only while the isolate is idle, so this is the heap after a step, not its
 * peak. \`total\` is what V8 holds for the heap (it grows to fit a step's peak and shrinks after GC).
 */
async function workerHeap(url: string | null): Promise<{ used: number; total: number } | null> {
  if (!url) return null;
  try {
    const r = JSON.parse(await run(process.execPath, ["-e", HEAP_SCRIPT, url])) as { usedSize: number; totalSize: number };
    return { used: r.usedSize, total: r.totalSize };
  } catch {
    return null;
  }
}

/** Runs `step` with the workerd process's memory watched (see the module comment). */
async function watched<T>(server: Server, step: () => Promise<T>): Promise<{ value: T; memory: Memory }> {
  const pid = servingPid(server);
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  const before = statusKb(pid, "VmRSS");
  const anonBefore = statusKb(pid, "RssAnon");
  const fileBefore = statusKb(pid, "RssFile");
  let [sampledMax, anonMax, fileMax] = [before, anonBefore, fileBefore];
  let samples = 0;
  const timer = setInterval(() => {
    sampledMax = Math.max(sampledMax, statusKb(pid, "VmRSS"));
    anonMax = Math.max(anonMax, statusKb(pid, "RssAnon"));
    fileMax = Math.max(fileMax, statusKb(pid, "RssFile"));
    samples++;
  }, 100);
  try {
    const value = await step();
    return { value, memory: { before, peak: statusKb(pid, "VmHWM"), sampledMax, samples, anonBefore, anonMax, fileBefore, fileMax } };
  } finally {
    clearInterval(timer);
  }
}

async function sql<T>(file: string, query: string): Promise<T[]> {
  return JSON.parse((await run("sqlite3", ["-readonly", "-json", file, query])) || "[]") as T[];
}

/** The Worker isolate's V8 heap after a step (see `workerHeap`), in bytes; null without an inspector. */
type Heap = { used: number; total: number } | null;

interface StreamFigures {
  seconds: number;
  bytes: number;
  firstByteMs: number;
  memory: Memory;
}

/** Streams the export once, read to the end and discarded. */
async function streamOnce(server: Server, base: string, headers: Record<string, string>, label: string): Promise<StreamFigures> {
  log(`${label} ...`);
  const t0 = performance.now();
  let firstByteMs = 0;
  const { value: bytes, memory } = await watched(server, async () => {
    const res = await fetch(`${base}/v1/exports/scores.csv`, { headers });
    if (!res.ok) throw new Error(`GET /v1/exports/scores.csv: HTTP ${res.status}: ${await res.text()}`);
    const reader = res.body!.getReader();
    let n = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return n;
      if (!firstByteMs) firstByteMs = performance.now() - t0;
      n += value.byteLength;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  log(`${label}: ${mb(bytes)} in ${f(seconds)} s; workerd peak ${mb(memory.peak)} (was ${mb(memory.before)}; anonymous ${mb(memory.anonBefore)} → ${mb(memory.anonMax)}, file-backed ${mb(memory.fileBefore)} → ${mb(memory.fileMax)})`);
  return { seconds, bytes, firstByteMs, memory };
}

/**
 * The control: the export's D1 reads alone (`GET /export-walk` of the baseline Worker, its own
 * wrangler dev and workerd on the same state: pages read and discarded, nothing encoded or sent),
 * twice. Local D1 runs inside workerd, so what its reads cost shows up in the process's memory.
 */
async function d1Control(stateDir: string, size: number): Promise<{ walk: Memory; walkAgain: Memory; seconds: number[] }> {
  const port = await freePort(8830);
  const server = await startServer(stateDir, port, path.join(path.dirname(stateDir), "server-export-walk.log"), "baseline.toml");
  return whileServing(server, 20, async () => {
    const out: { memory: Memory; seconds: number }[] = [];
    for (const pass of ["the export's D1 reads alone (control)", "again"]) {
      const t0 = performance.now();
      const { memory } = await watched(server, async () => {
        const res = await fetch(`http://${HOST}:${port}/export-walk`);
        if (!res.ok) throw new Error(`GET /export-walk: HTTP ${res.status}: ${await res.text()}`);
        return res.json();
      });
      out.push({ memory, seconds: (performance.now() - t0) / 1000 });
      log(`[${n0(size)}] export: ${pass}: ${f(out.at(-1)!.seconds)} s; workerd peak ${mb(memory.peak)} (was ${mb(memory.before)}; anonymous ${mb(memory.anonBefore)} → ${mb(memory.anonMax)})`);
    }
    return { walk: out[0].memory, walkAgain: out[1].memory, seconds: out.map((o) => o.seconds) };
  });
}

/** The measurements on a running server whose accounts are all scored, and the D1 control beside it. */
export async function measureExport(server: Server, stateDir: string, key: string, size: number, source: string): Promise<ExportFigures> {
  const base = `http://${HOST}:${server.port}`;
  const headers = { authorization: `Bearer ${key}` };
  const file = d1File(stateDir);
  const [{ n: rows }] = await sql<{ n: number }>(file, "SELECT count(*) AS n FROM accounts WHERE score_id IS NOT NULL");
  // Twice: a second pass over the same rows shows whether memory keeps growing with the rows streamed.
  const stream = await streamOnce(server, base, headers, `[${n0(size)}] export: streaming GET /v1/exports/scores.csv (${n0(rows)} accounts)`);
  const streamAgain = await streamOnce(server, base, headers, `[${n0(size)}] export: streaming it again`);

  log(`[${n0(size)}] export: the daily job (POST /v1/exports, gzipped CSV into R2 through the export queue) ...`);
  const day = new Date().toISOString().slice(0, 10);
  const t1 = performance.now();
  const daily = await watched(server, async () => {
    const res = await fetch(`${base}/v1/exports`, { method: "POST", headers });
    if (res.status !== 202) throw new Error(`POST /v1/exports: HTTP ${res.status}: ${await res.text()}`);
    // Followed in the D1 file, not over HTTP (see `rescore` in rescore-runs.ts).
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const [row] = await sql<{ status: string; rows: number; bytes: number; error: string | null }>(file, `SELECT status, rows, bytes, error FROM score_exports WHERE day = '${day}'`);
      if (row && row.status !== "writing") return row;
      if (performance.now() - t1 > 30 * 60_000) throw new Error("the daily export did not finish within 30 minutes");
    }
  });
  const dailySeconds = (performance.now() - t1) / 1000;
  if (daily.value.status !== "ready") throw new Error(`the daily export failed: ${daily.value.error}`);
  log(`[${n0(size)}] export: daily job wrote ${mb(daily.value.bytes)} gzipped (${n0(daily.value.rows)} rows) in ${f(dailySeconds)} s; workerd peak ${mb(daily.memory.peak)} (was ${mb(daily.memory.before)}; anonymous ${mb(daily.memory.anonBefore)} → ${mb(daily.memory.anonMax)})`);
  const control = await d1Control(stateDir, size);

  // Last, as attaching the inspector makes workerd's resident memory jump (hundreds of MB at
  // 100,000 accounts), which would blur the steps above: the Worker's heap before and after one more stream.
  const inspector = await inspectorUrl(server);
  const heapBefore = await workerHeap(inspector);
  await streamOnce(server, base, headers, `[${n0(size)}] export: streaming it a third time, for the Worker's heap`);
  const heapAfter = await workerHeap(inspector);
  log(`[${n0(size)}] export: the Worker's heap ${heapBefore && heapAfter ? `${mb(heapBefore.used)} used of ${mb(heapBefore.total)} before the stream, ${mb(heapAfter.used)} of ${mb(heapAfter.total)} after` : "could not be read (no inspector)"}`);

  const figures: ExportFigures = {
    size,
    at: new Date().toISOString(),
    loadAverage: loadAverage(),
    source,
    rows,
    stream,
    streamAgain,
    daily: { seconds: dailySeconds, rows: daily.value.rows, bytes: daily.value.bytes, status: daily.value.status, memory: daily.memory },
    control,
    heap: { before: heapBefore, afterStream: heapAfter },
  };
  writeFileSync(path.join(BENCH_DIR, `export-${size}.json`), `${JSON.stringify(figures, null, 2)}\n`);
  return figures;
}

/**
 * Scores every account through `POST /v1/score/batch` (1,000 a request, each stored with its
 * drivers, as the API stores scores), one request after another: what `--export-only` does instead
 * of a rescoring run, whose local queue was seen to stop dispatching part way (after 20 or 70 of 100
 * chunks) while other work loaded this machine; the exports read the same columns either way,
 * only `trend` and `act_by` (a rescoring's trajectory) stay blank.
 */
async function scoreByApi(server: Server, key: string, size: number): Promise<void> {
  const base = `http://${HOST}:${server.port}`;
  const t0 = performance.now();
  let lastLog = t0;
  for (let from = 0; from < size; from += 1000) {
    const rows = [];
    for (let i = from; i < Math.min(size, from + 1000); i++) rows.push({ accountId: syntheticAccount(i, PORTFOLIO_SEED).id });
    const res = await fetch(`${base}/v1/score/batch`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ rows }) });
    if (!res.ok) throw new Error(`POST /v1/score/batch: HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`);
    await res.arrayBuffer();
    if (performance.now() - lastLog > 30_000) {
      lastLog = performance.now();
      log(`[${n0(size)}] scored ${n0(from + rows.length)} accounts (${n0((from + rows.length) / ((lastLog - t0) / 1000))}/s)`);
    }
  }
  log(`[${n0(size)}] scored ${n0(size)} accounts with POST /v1/score/batch in ${f((performance.now() - t0) / 1000)} s`);
}

/**
 * `--export-only`: a size's state as the bench loads it (accounts, snapshots, the model), every
 * account scored (`scoreByApi`), then the export measurement; no rescoring figures.
 */
export async function measureExportOnly(size: number, source: string): Promise<ExportFigures> {
  const dir = path.join(BENCH_DIR, `n${size}`);
  const stateDir = path.join(dir, "state");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  await applyLocalMigrations(stateDir);
  const { key } = await loadPortfolio(stateDir, size, new Date().toISOString().slice(0, 10));
  const port = await freePort(8810);
  const server = await startServer(stateDir, port, path.join(dir, "server.log"));
  const figures = await whileServing(server, 40, async () => {
    await scoreByApi(server, key, size);
    return measureExport(server, stateDir, key, size, source);
  });
  if (!flags["keep-state"]) rmSync(stateDir, { recursive: true, force: true });
  return figures;
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;

/** BENCHMARKS.md's `rescore-export` section from every size measured so far (unless `--no-write`). */
export function publishExportReport(): void {
  const all = readdirSync(BENCH_DIR)
    .filter((n) => /^export-\d+\.json$/.test(n))
    .map((n) => JSON.parse(readFileSync(path.join(BENCH_DIR, n), "utf8")) as ExportFigures)
    .sort((a, b) => a.size - b.size);
  if (all.length === 0) return;
  const growth = (m: Memory) => m.peak - m.before;
  const lines = [
    `Sizes measured: ${all.map((r) => `${n0(r.size)} (${r.at.slice(0, 16).replace("T", " ")} UTC, Worker from ${r.source}, load average ${r.loadAverage})`).join("; ")}. The state is \`npm run bench:rescore\`'s (its synthetic accounts and model; with \`--export-only\`, every account scored through \`POST /v1/score/batch\` with 10 stored drivers, so \`trend\` and \`act_by\` are blank; after a full size's run 2, rescoring's scores), served by \`wrangler dev\`; memory is the workerd process's, from \`/proc/<pid>/status\`: VmHWM (its peak resident set, reset through \`/proc/<pid>/clear_refs\` just before each step) and VmRSS sampled every 100 ms. "before" is VmRSS as the step began (the Worker, local D1's SQLite page cache and what earlier steps left in the heap).`,
    "",
    "| accounts | step | time | rows/s | output | workerd RSS before | peak (VmHWM) | peak − before | anonymous: before → largest sample |",
    "|---|---|---|---|---|---|---|---|---|",
    ...all.flatMap((r) => {
      const row = (step: string, seconds: number, output: string, m: Memory) =>
        `| ${n0(r.size)} | ${step} | ${f(seconds)} s | ${n0(r.rows / seconds)} | ${output} | ${mib(m.before)} | ${mib(m.peak)} | ${mib(growth(m))} | ${mib(m.anonBefore)} → ${mib(m.anonMax)} |`;
      return [
        row("`GET /v1/exports/scores.csv`, read to the end", r.stream.seconds, `${mb(r.stream.bytes)} CSV`, r.stream.memory),
        row("the same, a second time", r.streamAgain.seconds, `${mb(r.streamAgain.bytes)} CSV`, r.streamAgain.memory),
        row("daily job: gzip into R2, 5 MiB parts", r.daily.seconds, `${mb(r.daily.bytes)} .csv.gz`, r.daily.memory),
        row("control: the export's D1 reads alone, in a workerd of their own", r.control.seconds[0], "nothing", r.control.walk),
        row("control, a second time", r.control.seconds[1], "nothing", r.control.walkAgain),
      ];
    }),
    "",
    "The Worker's own heap (its isolate's V8 heap, used / held, before and after one more stream of the whole export):",
    "",
    "| accounts | before the stream | after it |",
    "|---|---|---|",
    ...all.map((r) => `| ${n0(r.size)} | ${r.heap.before ? `${mib(r.heap.before.used)} / ${mib(r.heap.before.total)}` : "—"} | ${r.heap.afterStream ? `${mib(r.heap.afterStream.used)} / ${mib(r.heap.afterStream.total)}` : "—"} |`),
  ];
  lines.push(
    "",
    "workerd runs local D1 (SQLite and its Durable Object) in the same process as the Worker, so its RSS counts what D1 itself holds for the reads; the control reads the same pages in a workerd of its own and discards them (the baseline Worker's `GET /export-walk`). The Worker's own memory is its isolate's V8 heap, asked through wrangler dev's inspector (DevTools `Runtime.getHeapUsage`) after the steps above (attaching it makes workerd's RSS jump): the inspector cannot answer while the isolate runs a request, so the after figure is the heap V8 kept once the stream was over (what it holds, `total`, grows to fit a peak and shrinks after a GC), not a sampled peak. The daily job's time includes the queue's dispatch and the 1 s polls of the D1 file.",
  );
  const text = lines.join("\n");
  if (!flags["no-write"]) replaceSection(path.join(ROOT, "BENCHMARKS.md"), "rescore-export", "## CRM export memory at scale (`npm run bench:rescore`)", text);
  console.log(text);
}
