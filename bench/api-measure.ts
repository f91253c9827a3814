/**
 * The timed parts of `npm run bench:api` that run from Node over loopback: the cold start of a
 * fresh server, sequential latency per route, and 1,000-row batches; each with the durations
 * wrangler dev logged for the same requests inside workerd.
 */
import http from "node:http";
import { expectOk, type Reply, request } from "./api-http";
import type { Product } from "./api-product";
import { BATCH, SETTLE_MS, WARM_SINGLE } from "./api-settings";
import { ONE } from "./api-telco";
import { type Stats, stats } from "./stats";


/** The `count` durations logged for `route` from index `start` on (wrangler prints them asynchronously). */
async function loggedSince(p: Product, route: string, start: number, count: number): Promise<number[]> {
  for (let i = 0; i < 50 && p.logged(route).length < start + count; i++) await new Promise((r) => setTimeout(r, 100));
  return p.logged(route).slice(start, start + count);
}

/** One cold start: the first request on a fresh server, then warm ones. */
export interface ColdSample {
  firstMs: number;
  warm: Stats;
  /** workerd-logged durations (see Product.logged) of the first and the warm requests. */
  loggedFirstMs: number | null;
  loggedWarm: Stats | null;
  /** First request after warming auth and D1 with GET /v1/models (the model not yet loaded). */
  preWarmedAuth: boolean;
}

/** Times the first POST /v1/score on a fresh server, then warm ones on the same connection. */
export async function coldSample(p: Product, key: string, preWarmAuth: boolean): Promise<ColdSample> {
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

/** One route timed request after request. */
export interface SequentialResult {
  label: string;
  wall: Stats;
  logged: Stats | null;
}

/** `n` requests one after another on one keep-alive connection: latency without queueing. */
export async function sequential(p: Product, agent: http.Agent, key: string, label: string, method: string, urlPath: string, body: string | undefined, n: number): Promise<SequentialResult> {
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

/** One batch variant timed. */
export interface BatchResult {
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

/** BATCH.warmup then BATCH.runs timed requests of one batch body; every row must score. */
export async function timeBatch(p: Product, agent: http.Agent, port: number, key: string, label: string, short: string, urlPath: string, rows: unknown[]): Promise<BatchResult> {
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
