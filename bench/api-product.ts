/**
 * The product as `npm run bench:api` runs it: started exactly as a user starts it (`npm start` on a
 * state dir), with what its output says while the bench measures (reloads, errors, the durations
 * wrangler dev logs per request), and a score key for the load test.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { type BenchServer, plain, startBenchServer } from "./dev-server";
import { ROOT, run } from "./processes";

/** A running `npm start`, ready (it printed its curl example). */
export interface Product extends BenchServer {
  adminKey: string;
  /** Seconds from `npm start` to the curl example, and when that was (performance.now()). */
  readySeconds: number;
  readyAt: number;
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

/** `npm start` with FORESIGHT_STATE_DIR and PORT; its output goes to server-{label}.log beside the state dir. */
export async function startProduct(stateDir: string, port: number, label: string): Promise<Product> {
  mkdirSync(stateDir, { recursive: true });
  const logFile = path.join(path.dirname(stateDir), `server-${label.replace(/\W+/g, "-")}.log`);
  let reloads = 0;
  const errors = new Map<string, number>();
  const loggedMs = new Map<string, number[]>();
  const logged = (route: string) => loggedMs.get(route) ?? loggedMs.set(route, []).get(route)!;
  const t0 = performance.now();
  const { server, value: adminKey } = await startBenchServer({
    name: `npm start (${label})`,
    command: "npm",
    args: ["start"],
    cwd: ROOT,
    env: { ...process.env, FORESIGHT_STATE_DIR: stateDir, PORT: String(port) },
    port,
    logFile,
    tailLines: 300,
    errorLines: 40,
    plainLines: false,
    echoUntilReady: true,
    onLine: (line, ready) => {
      const entry = /\[wrangler:info\] ([A-Z]+ \S+) \d{3} .*\((\d+)ms\)/.exec(plain(line));
      if (entry) logged(entry[1]).push(Number(entry[2]));
      const error = /\[ERROR\]\s*(.*)/.exec(plain(line));
      if (ready && error) errors.set(error[1].trim().slice(0, 240), (errors.get(error[1].trim().slice(0, 240)) ?? 0) + 1);
      if (ready && /Reloading local server|Detected changes, restarted server/.test(line)) {
        reloads++;
        console.error(`  (${label}: wrangler dev reloaded the Worker: a source file changed during the run; see ${path.relative(ROOT, logFile)})`);
      }
    },
    ready: {
      match: (line) => {
        const m = /Authorization: Bearer (fs_[A-Za-z0-9_-]+)/.exec(line);
        return m && line.includes(`/v1/score`) ? m[1] : undefined;
      },
      fails: (line) => line.includes("did not answer /healthz"),
      waitingFor: "curl example",
      timeoutMs: 20 * 60_000,
    },
  });
  return { ...server, adminKey, readySeconds: (performance.now() - t0) / 1000, readyAt: performance.now(), reloads: () => reloads, logged, errors };
}

/** A key with the score scope and no rate limit, so the load test measures the Worker, not the limiter. */
export async function createScoreKey(stateDir: string): Promise<string> {
  const out = await run("npm", ["run", "--silent", "create-key", "--", "--scopes", "score", "--rate-limit", "0", "--name", "bench:api load test"], { ...process.env, FORESIGHT_STATE_DIR: stateDir });
  const key = out.trim().split("\n").at(-1)!.trim();
  if (!key.startsWith("fs_")) throw new Error(`create-key printed no key: ${out}`);
  return key;
}
