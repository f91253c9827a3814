/**
 * `npm run backtest -- --events FILE --customer COL --date COL [--amount COL] [--horizon 90]
 * [--every 30] [--budget SECONDS] [--cohort-active 180] [--calibration-end DATE]
 * [--holdout-end DATE] [--json]`: walks an event log forward with a rolling origin (each model
 * trained only on what was known then) and reports the 90-day health forecast against "no
 * change" and a straight-line trend, the activity forecast on the calibration/holdout split
 * against the no-change run rate, and how early and how precisely actBy flags churners against
 * the red-tier rule. A table goes to stdout; with --json, a last line with the figures.
 * `npm run backtest -- --forecast [--d1] …` backtests the revenue forecast instead (forecast-cli.ts).
 */
import { readCsvFile } from "../dataset";
import { healthBacktest } from "../backtest/health";
import { timing } from "../backtest/timing";
import { activityBacktest } from "../forecast/activity";
import { isoDate, isoDay } from "../dates";
import { parseDaysFlag } from "../snapshots";
import { type FlagSpec, parseFlags, runCli, UsageError } from "./args";
import { progress } from "./progress";
import { forecastCli } from "../backtest/forecast-cli";

const FLAGS = {
  events: { type: "string", required: true, description: "event log CSV with a header row, one row per event" },
  customer: { type: "string", required: true, description: "column holding the customer id" },
  date: { type: "string", required: true, description: "column holding the event date, YYYY-MM-DD" },
  amount: { type: "string", description: "column holding each event's amount, e.g. spend" },
  horizon: { type: "string", description: "days ahead the health forecast and the churn label look (default 90)" },
  every: { type: "string", description: "days between cutoffs of the rolling origin (default 30)" },
  budget: { type: "string", description: "seconds each fit may spend (the churn and trajectory models at each cutoff; default 20)" },
  "cohort-active": { type: "string", description: "accounts judged at a cutoff: those with an event in this many days up to it (default 180)" },
  "train-accounts": { type: "string", description: "at most this many accounts' rows train each cutoff's trajectory model, a fixed sample (default 3000): bounds the time" },
  "calibration-end": { type: "string", description: "last day of the activity forecast's calibration period (default: the middle of the log)" },
  "holdout-end": { type: "string", description: "last day of its holdout (default: the log's last day)" },
  json: { type: "boolean", description: "end with one line of JSON: {health, activity, timing}" },
} satisfies FlagSpec;

const f3 = (v: number) => v.toFixed(3);

// `--forecast` is its own mode with its own flags: the revenue forecast on D1 (training/backtest/forecast-cli.ts).
if (process.argv.slice(2).includes("--forecast")) await forecastCli(process.argv.slice(2));
else await runCli("backtest", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const started = performance.now();
  const log = await readCsvFile(flags.events as string, "--events");
  for (const [flag, column] of [["--customer", flags.customer], ["--date", flags.date], ["--amount", flags.amount]] as const) {
    if (column !== undefined && !log.csv.header.includes(column)) throw new UsageError(flag, `no column named "${column}"; the log's columns are: ${log.csv.header.join(", ")}`);
  }
  const horizon = flags.horizon === undefined ? 90 : parseDaysFlag(flags.horizon, "--horizon");
  const every = flags.every === undefined ? 30 : parseDaysFlag(flags.every, "--every");
  const cohortActive = flags["cohort-active"] === undefined ? 180 : parseDaysFlag(flags["cohort-active"], "--cohort-active");
  const budget = flags.budget === undefined ? 20 : Number(flags.budget);
  if (!(budget > 0)) throw new UsageError("--budget", `must be a positive number of seconds, got "${flags.budget}"`);
  const trainAccounts = flags["train-accounts"] === undefined ? 3000 : parseDaysFlag(flags["train-accounts"], "--train-accounts");
  const dateIndex = log.csv.header.indexOf(flags.date as string);
  const days = log.csv.rows.map((r) => isoDay(r[dateIndex])).filter((d) => Number.isFinite(d));
  const [logFrom, logTo] = [Math.min(...days), Math.max(...days)];
  const calibrationEnd = flags["calibration-end"] ?? isoDate(Math.floor((logFrom + logTo) / 2));
  const holdoutEnd = flags["holdout-end"] ?? isoDate(logTo);

  const activity = activityBacktest(log.csv, { customer: flags.customer as string, date: flags.date as string, amount: flags.amount ?? undefined, calibrationEnd, holdoutEnd });
  const health = await healthBacktest(log.csv, { customer: flags.customer as string, date: flags.date as string, amount: flags.amount ?? null, horizon, every, budget, cohortActive, trainAccounts, onProgress: progress, onNote: (note) => console.error(`  ${note}`) });
  const t = timing(health.flags);
  const seconds = (performance.now() - started) / 1000;

  const lines = [
    `backtest of ${flags.events}: ${health.cutoffs} cutoffs every ${every} days (${health.origins[0]?.cutoff ?? "-"}..${health.origins.at(-1)?.cutoff ?? "-"}), each fitted on what was known then; ${seconds.toFixed(0)} s`,
    "",
    `health, ${horizon} days ahead (${health.pairs.toLocaleString("en-US")} forecasts of ${health.accounts.toLocaleString("en-US")} accounts active in the ${cohortActive} days before their cutoff)`,
    "| cutoff | accounts | forecast MAE | no-change MAE | straight-line MAE | 90% coverage | source |",
    "|---|---|---|---|---|---|---|",
    ...health.origins.map((o) => `| ${o.cutoff} | ${o.accounts} | ${f3(o.mae)} | ${f3(o.baselineMae)} | ${f3(o.trendBaselineMae)} | ${f3(o.coverage90)} | ${o.source} |`),
    `| all | ${health.pairs} | ${f3(health.mae)} | ${f3(health.baselineMae)} | ${f3(health.trendBaselineMae)} | ${f3(health.coverage90)} | |`,
    "",
    `activity: events per customer from ${calibrationEnd} to ${holdoutEnd}`,
    `  forecast MAE ${f3(activity.mae)}, MSLE ${f3(activity.msle)}; no-change run rate MAE ${f3(activity.baselineMae)}, MSLE ${f3(activity.baselineMsle)}; total ${activity.total.toFixed(0)} forecast, ${activity.actualTotal} actual`,
    "",
    `timing: ${t.cutoffs} cutoffs (${health.flags[0]?.cutoff ?? "-"}..${health.flags.at(-1)?.cutoff ?? "-"}: every one with a churn label), ${t.churners} churners; flagged when actBy is within 30 days (${t.flags} flags) vs when red (${t.redRuleFlags} flags)`,
    `  median lead ${t.medianLeadDays} days vs ${t.redRuleMedianLeadDays} for the red rule; precision ${f3(t.precision)} vs ${f3(t.redRulePrecision)}`,
  ];
  console.log(lines.join("\n"));
  if (flags.json) {
    const { origins: _o, flags: _f, pairs: _p, ...healthFigures } = health;
    console.log(JSON.stringify({ health: healthFigures, activity, timing: t, seconds: Math.round(seconds) }));
  }
});
