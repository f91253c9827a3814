/**
 * The Worker as `npm run bench:rescore` serves it: `wrangler dev` on a size's state dir (the
 * command `npm start` runs), from a copy of the sources taken at the start, and the baseline
 * Worker beside it on the same D1 database.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type BenchServer, startBenchServer } from "./dev-server";
import { HOST, ROOT, WRANGLER } from "./processes";
import { BENCH_DIR } from "./rescore-settings";

/** A running wrangler dev, with the errors it printed (and reloads, which a run must not see). */
export interface Server extends BenchServer {
  errors: Map<string, number>;
}

/** Where the servers are started from: the checkout until `freezeWorkerSources` made a copy. */
let workerDir = ROOT;

/**
 * A copy of the Worker's sources (and node_modules linked), taken once at the start: wrangler dev
 * rebuilds and reloads on any change to the files it watches, and other work in the checkout
 * during a long run would restart the Worker mid-run (dropping the local queue's messages).
 * Every server started afterwards serves the copy.
 */
export function freezeWorkerSources(): string {
  const dir = path.join(BENCH_DIR, "worker");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of ["wrangler.toml", "package.json", "tsconfig.json", "workers", "shared", "public", "migrations"]) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  mkdirSync(path.join(dir, "bench"));
  cpSync(path.join(ROOT, "bench/rescore-baseline-worker.ts"), path.join(dir, "bench/rescore-baseline-worker.ts"));
  // The baseline Worker binds the same D1 database (same id, so the same local file).
  const main = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const d1 = /\[\[d1_databases\]\][^[]*/.exec(main)?.[0];
  const r2 = /\[\[r2_buckets\]\][^[]*/.exec(main)?.[0];
  const date = /compatibility_date = "[^"]+"/.exec(main)?.[0];
  if (!d1 || !r2 || !date) throw new Error("wrangler.toml has no [[d1_databases]], [[r2_buckets]] or compatibility_date");
  writeFileSync(path.join(dir, "baseline.toml"), `name = "foresight-bench-baseline"\nmain = "bench/rescore-baseline-worker.ts"\n${date}\ncompatibility_flags = ["nodejs_compat"]\n\n${d1.trim()}\n\n${r2.trim()}\n`);
  workerDir = dir;
  return dir;
}

/** `wrangler dev` on the state dir, as `npm start` runs it after its own preparation; `config` picks the Worker. */
export async function startServer(stateDir: string, port: number, logFile: string, config = "wrangler.toml"): Promise<Server> {
  const errors = new Map<string, number>();
  const { server } = await startBenchServer({
    name: "wrangler dev",
    command: WRANGLER,
    args: ["dev", "-c", config, "--ip", HOST, "--port", String(port), "--persist-to", stateDir, "--show-interactive-dev-session=false"],
    cwd: workerDir,
    env: { ...process.env, CI: "true" },
    port,
    logFile,
    tailLines: 200,
    errorLines: 30,
    plainLines: true,
    echoUntilReady: false,
    onLine: (line) => {
      const e = /\[ERROR\]\s*(.*)|rescore chunk .* failed.*/.exec(line);
      if (/Reloading local server|Local server updated|Detected changes/.test(line)) errors.set("wrangler dev reloaded the Worker mid-run", (errors.get("wrangler dev reloaded the Worker mid-run") ?? 0) + 1);
      if (e) {
        const key = (e[1] ?? e[0]).trim().slice(0, 200);
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
    },
    ready: { healthz: true, timeoutMs: 180_000 },
  });
  return { ...server, errors };
}
