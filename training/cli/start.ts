/**
 * `npm start`: the whole product on the local stack, from a fresh clone.
 * Applies the D1 migrations, loads the Telco demo portfolio if there are no accounts, trains and
 * publishes a model if none is active, scores every account that needs it, creates a key, then
 * serves the Worker with `wrangler dev` on http://127.0.0.1:8787 and prints a curl to try.
 * A second start reuses the data and the active model: nothing is retrained.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { Scorer } from "../../shared/model/scorer";
import { activeModelRow, fetchArtifact } from "../../shared/db/registry";
import { createLocalKey } from "../keys";
import { localStateDir, openLocalPlatform } from "../platform";
import { publishLocal } from "../registry";
import { accountCount, scoreStaleAccounts, seedTelcoAccounts } from "../seed";
import { train } from "../train";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const TELCO = path.join(root, "training/data/telco.csv");
const PORT = Number(process.env.PORT ?? 8787);
const HOST = "127.0.0.1";
const WRANGLER = path.join(root, "node_modules/.bin/wrangler");

const step = (text: string) => console.log(`\x1b[36m›\x1b[0m ${text}`);

async function prepare(): Promise<string> {
  step("applying D1 migrations to the local database");
  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", localStateDir()], { cwd: root, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CI: "true" } });

  const platform = await openLocalPlatform();
  try {
    const { env } = platform;
    const count = await accountCount(env.DB);
    if (count === 0) {
      step("no accounts yet: loading the Telco demo portfolio (ARR = 12 × MonthlyCharges; owners and renewal dates derived)");
      console.log(`  loaded ${await seedTelcoAccounts(env.DB, TELCO)} accounts`);
    } else step(`${count} accounts in local D1`);

    let active = await activeModelRow(env.DB);
    if (!active) {
      step("no active model: training one on the Telco data");
      const out = path.join(root, ".foresight/models/telco");
      mkdirSync(out, { recursive: true });
      const { summary } = await train({ data: TELCO, label: "Churn", positive: "Yes", id: "customerID", arr: "MonthlyCharges", out });
      const h = summary!.holdout;
      console.log(`  hold-out ROC-AUC ${h.auc.toFixed(3)}, PR-AUC ${h.prAuc.toFixed(3)}, Brier ${h.brier.toFixed(3)}; ${summary!.chosen}, refit on all ${summary!.rows} rows (full report: npm run train -- --data training/data/telco.csv --label Churn --positive Yes --id customerID --out DIR)`);
      const published = await publishLocal(env, out, true);
      console.log(`  published and activated ${published.version} (r2://foresight-models/${published.r2Key})`);
      active = await activeModelRow(env.DB);
    } else step(`active model ${active.version}`);

    const churn = new Scorer(await fetchArtifact(env, active!));
    const expansionRow = await activeModelRow(env.DB, "expansion");
    const expansion = expansionRow ? new Scorer(await fetchArtifact(env, expansionRow)) : undefined;
    const { scored, tiers } = await scoreStaleAccounts(env.DB, { churn, expansion });
    step(
      scored
        ? `scored ${scored} accounts: ${tiers.red} red, ${tiers.yellow} yellow, ${tiers.green} green, ${tiers.blue} blue (expansion-ready, ${expansion ? `model ${expansion.artifact.version}` : "cold-start scorecard"})`
        : "every account already has a current score",
    );

    return await createLocalKey(env, "admin,score,ingest", "npm start demo key", 0);
  } finally {
    await platform.dispose();
  }
}

function curlExample(key: string): string {
  const features = {
    tenure: 2,
    Contract: "Month-to-month",
    InternetService: "Fiber optic",
    PaymentMethod: "Electronic check",
    MonthlyCharges: 95.5,
  };
  const base = `http://${HOST}:${PORT}`;
  return [
    "",
    `Foresight is serving on ${base}  (API docs: ${base}/docs)`,
    "Try it with this fresh admin key:",
    "",
    `curl -s ${base}/v1/score -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `  -d '${JSON.stringify({ features })}'`,
    "",
    `curl -s ${base}/v1/accounts/7590-VHVEG -H 'Authorization: Bearer ${key}'`,
    "",
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
