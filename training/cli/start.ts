/**
 * `npm start [-- --demo saas]`: the whole product on the local stack, from a fresh clone.
 * Applies the D1 migrations, loads the demo portfolio if there are no accounts (Telco, or with
 * `--demo saas` / FORESIGHT_DEMO=saas the synthetic SaaS portfolio with a year of weekly history,
 * in its own state folder), trains and publishes a model if none is active, scores every account
 * that needs it, creates a key, then serves the Worker with `wrangler dev` on
 * http://127.0.0.1:8787 and prints a curl to try. A second start reuses the data and the active
 * model: nothing is retrained. training/demo/demos.ts has the steps.
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { createLocalKey } from "../keys";
import { localStateDir, openLocalPlatform } from "../platform";
import { chooseDemo, type Demo, type Log, prepareDemo } from "../demo/demos";
import { UsageError } from "../errors";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const PORT = Number(process.env.PORT ?? 8787);
const HOST = "127.0.0.1";
const WRANGLER = path.join(root, "node_modules/.bin/wrangler");

const step = (text: string) => console.log(`\x1b[36m›\x1b[0m ${text}`);
const log: Log = { step, info: (text) => console.log(`  ${text}`) };

let demo: Demo;
try {
  demo = chooseDemo(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`start: ${e.message}`);
  process.exit(2);
}
// Each demo keeps its own local stack unless FORESIGHT_STATE_DIR says where, so they never mix.
if (demo.stateDir && !process.env.FORESIGHT_STATE_DIR) process.env.FORESIGHT_STATE_DIR = path.join(root, demo.stateDir);

async function prepare(): Promise<string> {
  if (demo.stateDir) {
    const state = localStateDir();
    const shown = state.startsWith(`${root}${path.sep}`) ? path.relative(root, state) : state;
    step(`${demo.name} demo: local state in ${shown} (FORESIGHT_STATE_DIR=${shown} points the other CLIs, e.g. create-key, at it)`);
  }
  step("applying D1 migrations to the local database");
  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", localStateDir()], { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CI: "true" } });

  const platform = await openLocalPlatform();
  try {
    await prepareDemo(platform.env, demo, { modelsDir: path.join(root, ".foresight/models"), log });
    return await createLocalKey(platform.env, "admin,score,ingest", "npm start demo key", 0);
  } finally {
    await platform.dispose();
  }
}

function curlExample(key: string): string {
  const { features, accountId } = demo.example;
  const base = `http://${HOST}:${PORT}`;
  return [
    "",
    `Foresight is serving on ${base}  (API docs: ${base}/docs)`,
    "Try it with this fresh admin key:",
    "",
    `curl -s ${base}/v1/score -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `  -d '${JSON.stringify({ features })}'`,
    "",
    `curl -s ${base}/v1/accounts/${accountId} -H 'Authorization: Bearer ${key}'`,
    "",
    ...(demo.historySource ? [`curl -s '${base}/v1/accounts/${accountId}/scores?limit=60' -H 'Authorization: Bearer ${key}'   # a year of weekly scores`, ""] : []),
  ].join("\n");
}

async function waitForHealth(timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`http://${HOST}:${PORT}/healthz`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

const key = await prepare();
step(`starting wrangler dev on http://${HOST}:${PORT}`);
// FORESIGHT_WEBHOOK_RETRY_SCHEDULE (comma-separated seconds) replaces the ~3-day webhook retry schedule, for tests.
const retrySchedule = process.env.FORESIGHT_WEBHOOK_RETRY_SCHEDULE?.trim();
if (retrySchedule && !/^\d+(,\d+)*$/.test(retrySchedule)) throw new Error(`FORESIGHT_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds, not '${retrySchedule}'`);
// Local only: receivers on 127.0.0.1 may get webhooks (production refuses loopback).
const vars = ["--var", "WEBHOOK_ALLOW_LOOPBACK:true", ...(retrySchedule ? ["--var", `WEBHOOK_RETRY_SCHEDULE:${retrySchedule}`] : [])];
const server = spawn(WRANGLER, ["dev", "--ip", HOST, "--port", String(PORT), "--persist-to", localStateDir(), "--show-interactive-dev-session=false", ...vars], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));
if (await waitForHealth(120_000)) console.log(curlExample(key));
else console.error("the server did not answer /healthz within 2 minutes; see the wrangler output above");
