/**
 * `npm run bench:api`'s section of BENCHMARKS.md: every figure of one run, with how it was
 * measured and each target's verdict, as Markdown.
 */
import os from "node:os";
import path from "node:path";
import type { Bundle } from "./api-bundle";
import type { BatchResult, ColdSample, SequentialResult } from "./api-measure";
import { BATCH, COLD_MODEL, COLD_STATE, MAIN_STATE, QUICK, SEQUENTIAL, SETTLE_MS, WARM_SINGLE, WRK } from "./api-settings";
import { type BigModel, ONE } from "./api-telco";
import { type WrkResult, wrkArgs } from "./api-wrk";
import { f, kb, n0, verdict } from "./format";
import { HOST, ROOT } from "./processes";
import { stats } from "./stats";

/** The section's heading. */
export const API_HEADING = "## API performance on the local stack (`npm run bench:api`)";

/** What one run measured. */
export interface ApiRun {
  started: Date;
  machine: string;
  /** Load average at the start. */
  load: string;
  /** The main server's port (quoted in the wrk command). */
  port: number;
  activeModel: { version: string; family: string; sizeBytes: number };
  /** wrangler dev reloads seen during each measured phase (other edits to the source reload the Worker). */
  reloads: Record<string, number>;
  /** Server `[ERROR]` lines per measured phase, and all of them by message. */
  serverErrors: Record<string, number>;
  errorMessages: Map<string, number>;
  throughput: WrkResult[];
  sequentialRuns: SequentialResult[];
  batches: BatchResult[];
  /** The first request on the main server (the model `npm start` trained). */
  mainCold: ColdSample;
  big: BigModel;
  coldSamples: ColdSample[];
  bundled: Bundle;
}

const BATCH_TARGET_MS = 50;
const BUNDLE_TARGET = 300 * 1024;

/** The section's body for run `r`. */
export function apiReport(r: ApiRun): string {
  const { started, machine, load, port, activeModel, reloads, serverErrors, errorMessages, throughput, sequentialRuns, batches, mainCold, big, coldSamples, bundled } = r;
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

  return [
    `Run ${started.toISOString()} on ${machine}; load average at start ${load}.${QUICK ? " **Quick run (--quick): short durations, not recorded.**" : ""}`,
    "",
    `The product runs as a user runs it: \`npm start\` (wrangler dev, workerd with local D1 and R2) with \`FORESIGHT_STATE_DIR=${path.relative(ROOT, MAIN_STATE)}\`, active model ${activeModel.version} (${activeModel.family}, ${n0(activeModel.sizeBytes)} bytes). Load-test key: \`create-key --scopes score --rate-limit 0\`. Every request goes through wrangler dev's local proxy, which also logs it; the deployed Worker has neither.`,
    "",
    `wrangler dev reloads of the Worker during measurement (it rebuilds when a source file changes, e.g. other work in the checkout): ${Object.values(reloads).every((v) => v === 0) ? "none" : `**${Object.entries(reloads).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join(", ")}; the figures of those phases include a restarted isolate**`}.`,
    "",
    `Errors the server printed (\`[ERROR]\` lines in wrangler dev's output) while measuring: ${Object.values(serverErrors).every((v) => v === 0) ? "none" : `**${Object.entries(serverErrors).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join(", ")}**: ${[...errorMessages].map(([m, c]) => `${c} × “${m}”`).join("; ")}`}.`,
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
    `Sent ${SETTLE_MS / 1000} s after the server printed its curl example (so the start-up work of npm start, wrangler and workerd is over) and timed from Node on an open keep-alive connection (a \`GET /healthz\` first), so the TCP connect is excluded; warm = median of the next ${WARM_SINGLE} requests. Load cost = first − warm (wall times). The workerd-logged column is wrangler dev's logged duration of the same requests (see the batch part). The 300-tree model lives in its own state dir (\`${path.relative(ROOT, COLD_STATE)}\`), published with \`npm run publish-model -- --model ${path.relative(ROOT, COLD_MODEL)} --activate\`; the server is restarted (\`npm start\`, a new workerd isolate) for each sample.`,
    "",
    "| model | artifact | first request | warm (median) | load cost | workerd-logged first / warm |",
    "|---|---|---|---|---|---|",
    coldRow(`${activeModel.version} (${activeModel.family}, as \`npm start\` trained it)`, activeModel.sizeBytes, mainCold),
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
}
