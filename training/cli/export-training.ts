/**
 * `npm run export-training -- --as-of DATE --out FILE.csv [--horizon 90] [--max-age 90] [--local|--remote]`,
 * or `-- --target trajectory --out PANEL.csv`: every account's signal snapshots with the health
 * scored by then, the panel `npm run train -- --target trajectory` reads.
 * Writes a leakage-free training CSV from D1: each account's newest signal snapshot on or before
 * DATE, labelled `churned` and `expanded` by the outcomes recorded in the horizon after it.
 * Train on it with `--label churned --exclude expanded`, or `--label expanded --exclude churned
 * --target expansion`: the other label is a future outcome too, never a signal. The optional
 * `csm_verdict` and `csm_expected_tier` columns carry the latest CSM feedback known by DATE.
 */
import { writeFileSync } from "node:fs";
import { d1Query, exportTrainingSet, FEEDBACK_COLUMNS, type Query, trainingSetCsv } from "../export";
import { exportTrajectoryPanel, trajectoryPanelCsv } from "../export-trajectory";
import { withLocalPlatform } from "../platform";
import { d1Remote } from "../remote";
import { parseFlags, runCli, UsageError } from "./args";

const spec = {
  target: { type: "string", description: "churn (default; also the expansion labels) or trajectory: the panel of snapshots and health over time" },
  "as-of": { type: "string", description: "snapshot day, YYYY-MM-DD; features come from on or before it, labels from after it" },
  out: { type: "string", required: true, description: "CSV file to write" },
  horizon: { type: "string", description: "days after --as-of in which a churned or expanded outcome counts (default 90)" },
  "max-age": { type: "string", description: "leave out accounts whose newest snapshot is older than this many days before --as-of (default 90)" },
  local: { type: "boolean", description: "read the local D1 used by `npm start` (default)" },
  remote: { type: "boolean", description: "read the deployed D1 (needs `wrangler login`)" },
} as const;

function whole(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(flag, `must be a whole number of days, got "${value}"`);
  return Number(value);
}

/** wrangler d1 execute takes no bound parameters: inline them as quoted SQL literals. */
const remoteQuery: Query = async (sql, params) => {
  const inlined = sql.replace(/\?(\d+)/g, (_, n: string) => {
    const v = params[Number(n) - 1];
    return typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
  });
  const out = JSON.parse(await d1Remote(inlined)) as { results: Record<string, unknown>[] }[];
  return out[0]?.results ?? [];
};

await runCli("export-training", spec, async () => {
  const flags = parseFlags(process.argv.slice(2), spec);
  if (flags.local && flags.remote) throw new UsageError("--remote", "choose --local or --remote, not both");
  if (flags.target !== undefined && flags.target !== "churn" && flags.target !== "trajectory") throw new UsageError("--target", `must be churn or trajectory, got "${flags.target}"`);
  if (flags.target === "trajectory") {
    if (flags["as-of"] !== undefined) throw new UsageError("--as-of", "does not apply to --target trajectory: the panel holds every snapshot");
    const panel = flags.remote ? await exportTrajectoryPanel(remoteQuery) : await withLocalPlatform((env) => exportTrajectoryPanel(d1Query(env.DB)));
    if (panel.rows.length === 0) throw new UsageError("--target", "no signal snapshot has a score on or before its day yet: score the accounts first (npm start, or POST /v1/rescore)");
    writeFileSync(flags.out!, trajectoryPanelCsv(panel));
    console.log(`wrote ${flags.out}: ${panel.rows.length} snapshots of ${panel.accounts} accounts with their health${panel.unscored ? ` (${panel.unscored} snapshots with no score by their day left out)` : ""}`);
    console.log(`train: npm run train -- --target trajectory --data ${flags.out} --out DIR`);
    return;
  }
  if (flags["as-of"] === undefined) throw new UsageError("--as-of", "is required (a snapshot day, YYYY-MM-DD), except with --target trajectory");
  const options = { asOf: flags["as-of"]!, horizon: whole(flags.horizon, "--horizon"), maxAge: whole(flags["max-age"], "--max-age") };
  const set = flags.remote ? await exportTrainingSet(remoteQuery, options) : await withLocalPlatform((env) => exportTrainingSet(d1Query(env.DB), options));
  if (set.accounts === 0) throw new UsageError("--as-of", `no account has a signal snapshot within ${options.maxAge ?? 90} days on or before ${options.asOf}`);
  writeFileSync(flags.out!, trainingSetCsv(set));
  const verdict = set.header.indexOf(FEEDBACK_COLUMNS[0]);
  const withFeedback = set.rows.filter((r) => r[verdict] !== "").length;
  console.log(`wrote ${flags.out}: ${set.accounts} accounts as of ${options.asOf}, ${set.header.length - 4 - FEEDBACK_COLUMNS.length} signal columns`);
  console.log(`  CSM feedback by then (${FEEDBACK_COLUMNS.join(", ")}): ${withFeedback} accounts${withFeedback ? "" : " (blank columns: training leaves them out)"}`);
  console.log(`  churned within ${options.horizon ?? 90} days: ${set.churned}; expanded: ${set.expanded}`);
  if (set.alreadyChurned || set.stale) console.log(`  left out: ${set.alreadyChurned} already churned by ${options.asOf}, ${set.stale} with only stale snapshots`);
  console.log(`train: npm run train -- --data ${flags.out} --label churned --positive yes --id account_id --exclude expanded --out DIR`);
  console.log(`   or: npm run train -- --data ${flags.out} --label expanded --positive yes --id account_id --exclude churned --target expansion --out DIR`);
});
