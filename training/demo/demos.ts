/**
 * The demo portfolios `npm start` can run on, and the start-up it does with either: load the
 * portfolio into an empty D1, train and publish a model if none is active, write the score
 * history a demo comes with, and score every account that needs it. Telco is the default; the
 * synthetic SaaS portfolio (`--demo saas`, FORESIGHT_DEMO=saas) brings a year of weekly history.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { activeModelRow, fetchArtifact } from "../../shared/db/registry";
import type { RawValue } from "../../shared/model/features";
import { Scorer } from "../../shared/model/scorer";
import { UsageError } from "../errors";
import { publishLocal } from "../registry";
import { accountCount, scoreSnapshotHistory, scoreStaleAccounts, seedTelcoAccounts } from "../seed";
import { train } from "../train";
import type { TrainResult } from "../train/types";
import { generateSaasPortfolio, type SaasPortfolio, WEEKS } from "./saas";
import { loadSaasPortfolio, SAAS_HORIZON_DAYS, trainSaasModel } from "./saas-load";
import { fillSaasPlaybookScores, loadSaasPlaybooks, playbookScoresPending, regenerateSaasPortfolio } from "./saas-load-playbooks";
import { rebuildHealthHistoryStatement } from "../../shared/db/scores";
import type { ActiveModels } from "../../shared/cs/assess";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const TELCO = path.join(root, "training/data/telco.csv");

export const DEMO_NAMES = ["telco", "saas"] as const;
export type DemoName = (typeof DEMO_NAMES)[number];

/** What a demo brings: its data, how its model is trained, and what to try once it serves. */
export interface Demo {
  name: DemoName;
  /** The local state folder when FORESIGHT_STATE_DIR is unset; null: wrangler's own `.wrangler/state`. */
  stateDir: string | null;
  /** Loads the portfolio into an empty D1, printing what it loads. */
  load(d1: D1Database, log: Log): Promise<void>;
  /** Trains the churn model into `out`, saying on what; `report` is the command for the full report. */
  train(d1: D1Database, out: string, log: Log): Promise<{ result: TrainResult; report: string }>;
  /** Source of the weekly score history written after training, if the demo has history. */
  historySource: string | null;
  /** Churned accounts keep their last score instead of a new one (`scoreStaleAccounts`' skipChurned). */
  skipChurned: boolean;
  /** What the demo's data still needs once every score is written (the SaaS demo: its holdout's churn probabilities and CSM feedback). */
  afterScoring?(d1: D1Database, models: ActiveModels, log: Log): Promise<void>;
  /** A request body's features and an account id for the printed curl examples. */
  example: { accountId: string; features: Record<string, RawValue> };
}

export interface Log {
  /** A start-up step (a highlighted line). */
  step(text: string): void;
  /** A detail under the step. */
  info(text: string): void;
}

const telco: Demo = {
  name: "telco",
  stateDir: null,
  async load(d1, log) {
    log.step("no accounts yet: loading the Telco demo portfolio (ARR = 12 × MonthlyCharges; owners and renewal dates derived)");
    log.info(`loaded ${await seedTelcoAccounts(d1, TELCO)} accounts`);
  },
  async train(_d1, out, log) {
    log.step("no active model: training one on the Telco data");
    const result = await train({ data: TELCO, label: "Churn", positive: "Yes", id: "customerID", arr: "MonthlyCharges", out });
    return { result, report: "npm run train -- --data training/data/telco.csv --label Churn --positive Yes --id customerID --out DIR" };
  },
  historySource: null,
  skipChurned: false,
  example: {
    accountId: "7590-VHVEG",
    features: { tenure: 2, Contract: "Month-to-month", InternetService: "Fiber optic", PaymentMethod: "Electronic check", MonthlyCharges: 95.5 },
  },
};

/** Accounts in the SaaS demo. */
export const SAAS_ACCOUNTS = 3000;

/**
 * The SaaS demo; `accounts` other than 3,000 is for tests that want the same steps quicker.
 *
 * @example
 *   await prepareDemo(env, saasDemo(1000), { modelsDir, log });
 */
export const saasDemo = (accounts = SAAS_ACCOUNTS): Demo => {
  let loaded: SaasPortfolio | undefined;
  return {
    name: "saas",
    stateDir: ".wrangler/state-saas",
    async load(d1, log) {
      log.step(`no accounts yet: loading the synthetic SaaS demo portfolio (${accounts.toLocaleString("en-US")} accounts, ${WEEKS} weekly snapshots each; simulated, not real data: see training/demo/saas.ts)`);
      const started = performance.now();
      const p = generateSaasPortfolio({ accounts });
      const counts = await loadSaasPortfolio(d1, p);
      const cs = await loadSaasPlaybooks(d1, p);
      loaded = p;
      const kinds = p.accounts.flatMap((a) => a.outcomes.map((o) => o.type));
      const n = (t: string) => kinds.filter((k) => k === t).length;
      log.info(`loaded ${counts.accounts} accounts, ${counts.snapshots} weekly snapshots (${p.weeks[0]} to ${p.today}) and ${counts.outcomes} outcomes (${n("churned")} churned, ${n("renewed")} renewed, ${n("expanded")} expanded) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      log.info(`the simulated CS team's year: ${cs.assignments} holdout assignments (${cs.control} control, HOLDOUT_SHARE ${p.holdoutShare}), ${cs.interventions} interventions, ${cs.usage} owner_usage rows`);
    },
    async afterScoring(d1, models, log) {
      if (!(await playbookScoresPending(d1))) return;
      const p = loaded ?? (await regenerateSaasPortfolio(d1));
      const filled = await fillSaasPlaybookScores(d1, p, models);
      log.info(`holdout assignments carry the churn probability of their entry week's score; ${filled.feedback} CSM verdicts on past scores (GET /v1/impact, GET /v1/feedback/accuracy)`);
    },
    async train(d1, out, log) {
      log.step(`no active model: training one on the demo's own history (export-training at every 4th week, churn within ${SAAS_HORIZON_DAYS} days as the label)`);
      const { set, data, ...result } = await trainSaasModel(d1, out);
      log.info(`training set ${path.relative(root, data)}: ${set.rows.length} account-weeks, ${set.churned} churned within ${SAAS_HORIZON_DAYS} days, ${set.alreadyChurned} left out as already churned`);
      return {
        result,
        report: `npm run train -- --data ${path.relative(root, data)} --label churned --positive yes --id account_id --exclude expanded --time snapshot_as_of --out DIR`,
      };
    },
    historySource: "demo-history",
    skipChurned: true,
    example: {
      accountId: "SAAS-00001",
      features: { segment: "SMB", logins_30d: 6, feature_adoption: 0.22, support_tickets_30d: 5, meetings_90d: 0, days_since_qbr: 140, seats: 25, seats_used: 14, days_to_renewal: 45 },
    },
  };
};

/**
 * The demo chosen by `--demo NAME` in `argv`, else FORESIGHT_DEMO, else Telco; throws a
 * UsageError naming `--demo` for an unknown name.
 *
 * @example
 *   chooseDemo(["--demo", "saas"]).name; // "saas"
 */
export function chooseDemo(argv: string[], env: Record<string, string | undefined> = process.env): Demo {
  let name: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--demo") {
      name = argv[++i];
      if (name === undefined) throw new UsageError("--demo", `needs a name: ${DEMO_NAMES.join(" or ")}`);
    }
    else if (argv[i].startsWith("--demo=")) name = argv[i].slice("--demo=".length);
    else throw new UsageError(null, `unknown argument '${argv[i]}'; npm start takes only --demo ${DEMO_NAMES.join("|")}`);
  }
  name = (name ?? env.FORESIGHT_DEMO ?? "telco").trim().toLowerCase();
  const demo = [telco, saasDemo()].find((d) => d.name === name);
  if (!demo) throw new UsageError("--demo", `must be one of ${DEMO_NAMES.join(", ")} (or FORESIGHT_DEMO), not '${name}'`);
  return demo;
}

/**
 * Everything `npm start` does before serving, on an open local stack whose migrations are
 * applied: a second run reuses the data, the model and the history. Models are written under
 * `modelsDir`/<demo>.
 *
 * @example
 *   await prepareDemo(env, chooseDemo([]), { modelsDir: ".foresight/models", log });
 */
export async function prepareDemo(env: Env, demo: Demo, o: { modelsDir: string; log: Log }): Promise<void> {
  const { log } = o;
  const count = await accountCount(env.DB);
  if (count === 0) await demo.load(env.DB, log);
  else log.step(`${count} accounts in local D1`);

  let active = await activeModelRow(env.DB);
  if (!active) {
    const out = path.join(o.modelsDir, demo.name);
    mkdirSync(out, { recursive: true });
    const { result, report } = await demo.train(env.DB, out, log);
    const s = result.summary!;
    const h = s.holdout;
    log.info(`hold-out ROC-AUC ${h.auc.toFixed(3)}, PR-AUC ${h.prAuc.toFixed(3)}, Brier ${h.brier.toFixed(3)}; ${s.chosen}, refit on all ${s.rows} rows (full report: ${report})`);
    const published = await publishLocal(env, out, true, "start");
    log.info(`published and activated ${published.version} (r2://foresight-models/${published.r2Key})`);
    active = await activeModelRow(env.DB);
  } else log.step(`active model ${active.version}`);

  const churn = new Scorer(await fetchArtifact(env, active!));
  const expansionRow = await activeModelRow(env.DB, "expansion");
  const expansion = expansionRow ? new Scorer(await fetchArtifact(env, expansionRow)) : undefined;
  if (demo.historySource && !(await env.DB.prepare("SELECT 1 FROM scores WHERE source = ?1 LIMIT 1").bind(demo.historySource).first())) {
    log.step(`writing the score history: every account's weekly snapshot scored by ${churn.artifact.version}, dated that week`);
    const started = performance.now();
    const written = await scoreSnapshotHistory(env.DB, { churn, expansion }, demo.historySource);
    log.info(`${written.scores} scores over ${written.days} weeks in ${((performance.now() - started) / 1000).toFixed(1)} s (source '${demo.historySource}'; GET /v1/accounts/{id}/scores)`);
  }
  const { scored, tiers } = await scoreStaleAccounts(env.DB, { churn, expansion }, "start", { skipChurned: demo.skipChurned });
  log.step(
    scored
      ? `scored ${scored} accounts: ${tiers.red} red, ${tiers.yellow} yellow, ${tiers.green} green, ${tiers.blue} blue (expansion-ready, ${expansion ? `model ${expansion.artifact.version}` : "cold-start scorecard"})`
      : "every account already has a current score",
  );
  if (demo.historySource) {
    // Trajectories read each account's weekly health from its row: build it from the history just written.
    await env.DB.batch([rebuildHealthHistoryStatement(env.DB)]);
  }
  await demo.afterScoring?.(env.DB, { churn, expansion }, log);
  if (demo.skipChurned) {
    const gone = await env.DB.prepare("SELECT count(DISTINCT account_id) AS n FROM outcomes WHERE type = 'churned'").first<{ n: number }>();
    if (gone?.n) log.info(`${gone.n} churned accounts keep their last score from before they left`);
  }
}
