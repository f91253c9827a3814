/**
 * `npm run backtest -- --forecast [--d1] [--every 28] [--window 91] [--by owner|SIGNAL]
 * [--draws 2000] [--save-shock] [--json]`: the revenue forecast replayed over the local D1's
 * history (FORESIGHT_STATE_DIR picks the stack, e.g. `.wrangler/state-saas` for the SaaS demo),
 * judged by calendar quarter, by rolling quarter-long window and by sub-portfolio. Tables go to
 * stdout; with --json a last line holds the figures. --save-shock stores the calibrated σ in
 * `settings` (`forecast.shock`), which `GET /v1/forecast` then uses instead of its default.
 */
import { activeModelRow, fetchArtifact } from "../../shared/db/registry";
import { settings } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import { SHOCK_SETTING } from "../../workers/forecast/book";
import { d1Rows } from "../../workers/forecast/history";
import type { Figure } from "../../workers/forecast/simulate";
import { type FlagSpec, parseFlags, runCli, UsageError } from "../cli/args";
import { progress } from "../cli/progress";
import { withLocalPlatform } from "../platform";
import { type Coverage, type ForecastBacktest, forecastBacktest, type Judged, JUDGINGS } from "./forecast";

export const FORECAST_FLAGS = {
  forecast: { type: "boolean", required: true, description: "backtest the revenue forecast (GET /v1/forecast) on D1's history" },
  d1: { type: "boolean", description: "read the local D1 (the default; FORESIGHT_STATE_DIR picks the stack, e.g. .wrangler/state-saas)" },
  events: { type: "string", description: "not for --forecast: an event log has no ARR, renewals or scores (load it into D1 and use --d1)" },
  every: { type: "string", description: "days between rolling origins (default 28)" },
  window: { type: "string", description: "days in a rolling window (default 91: a quarter)" },
  by: { type: "string", description: "sub-portfolios judged on their own: owner (default) or a signal such as segment" },
  draws: { type: "string", description: "simulated futures per forecast (default 2000, as the Worker)" },
  "save-shock": { type: "boolean", description: "store the calibrated σ in settings (forecast.shock) for GET /v1/forecast" },
  json: { type: "boolean", description: "end with one line of JSON: the figures" },
} satisfies FlagSpec;

const whole = (v: string | undefined, flag: string, fallback: number, min = 1) => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(flag, `must be a whole number ≥ ${min}, got "${v}"`);
  return Number(v);
};
const k = (v: number) => `${(v / 1000).toFixed(0)}K`;
const band = (f: Figure, b: "p80" | "p90") => `${k(f[b][0])}–${k(f[b][1])}`;
const mark = (f: Figure, actual: number) => (f.p80[0] <= actual && actual <= f.p80[1] ? "in 80%" : f.p90[0] <= actual && actual <= f.p90[1] ? "in 90%" : "outside");
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

function rows(judged: readonly Judged[]): string[] {
  return [
    "| origin | window | ahead | accounts | σ churn / exp. | churned ARR: expected, 90% | actual | | expansion ARR: expected, 90% | actual | |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...judged.map((j) => {
      const f = j.forecast.fitted;
      return `| ${j.origin} | ${j.start}..${j.end} | ${j.ahead} | ${j.accounts} | ${j.shock.churn} / ${j.shock.expansion} | ${k(f.churnedArr.expected)}, ${band(f.churnedArr, "p90")} | ${k(j.actual.churnedArr)} | ${mark(f.churnedArr, j.actual.churnedArr)} | ${k(f.expansionArr.expected)}, ${band(f.expansionArr, "p90")} | ${k(j.actual.expansionArr)} | ${mark(f.expansionArr, j.actual.expansionArr)} |`;
    }),
  ];
}

function coverageRows(bt: ForecastBacktest): string[] {
  const cell = (c: Coverage) => `${pct(c.p80)} / ${pct(c.p90)} (churned ${pct(c.churnedArr.p80)} / ${pct(c.churnedArr.p90)}, expansion ${pct(c.expansionArr.p80)} / ${pct(c.expansionArr.p90)})`;
  const names = { quarters: "calendar quarters (whole portfolio)", rolling: "rolling windows (whole portfolio)", groups: `rolling windows × sub-portfolio (${bt.by})` } as const;
  return [
    "| grain | figures | σ fitted on other windows: in 80% / 90% | independent accounts (σ = 0) | the Worker's default σ |",
    "|---|---|---|---|---|",
    ...(["quarters", "rolling", "groups"] as const).map((g) => `| ${names[g]} | ${bt.coverage[g].fitted.figures} | ${JUDGINGS.map((j) => cell(bt.coverage[g][j])).join(" | ")} |`),
  ];
}

/** The report `npm run backtest -- --forecast` prints. */
export function forecastReport(bt: ForecastBacktest, seconds: number): string {
  return [
    `forecast backtest on D1's history ${bt.from}..${bt.to}: churn horizon ${bt.horizonDays} days; σ calibrated on every rolling window: churn ${bt.calibrated.churn}, expansion ${bt.calibrated.expansion}; ${seconds.toFixed(0)} s`,
    "",
    "interval coverage (share of churned and expansion ARR figures whose actual fell inside; nominal 80% / 90%):",
    ...coverageRows(bt),
    "",
    "calendar quarters, one and two quarters ahead:",
    ...rows(bt.quarters),
    "",
    "rolling windows:",
    ...rows(bt.rolling),
    "",
    `error over the rolling windows: churned ARR mean |error| ${pct(bt.error.churnedArr.mape)} (bias ${pct(bt.error.churnedArr.bias)}), expansion ARR ${pct(bt.error.expansionArr.mape)} (bias ${pct(bt.error.expansionArr.bias)})`,
  ].join("\n");
}

/** `npm run backtest -- --forecast …`. */
export async function forecastCli(argv: string[]): Promise<void> {
  await runCli("backtest", FORECAST_FLAGS, async () => {
    const flags = parseFlags(argv, FORECAST_FLAGS);
    if (flags.events !== undefined) throw new UsageError("--events", "the revenue forecast needs accounts with ARR, renewal dates and scores over time, which an event log does not have: load the data into D1 (npm start, the API) and use --d1");
    const options = { every: whole(flags.every, "--every", 28), windowDays: whole(flags.window, "--window", 91, 7), by: flags.by ?? "owner", draws: whole(flags.draws, "--draws", 2000, 100) };
    if (!/^[A-Za-z0-9_]+$/.test(options.by)) throw new UsageError("--by", `must be owner or a signal name (letters, digits, _), got "${options.by}"`);
    const started = performance.now();
    const bt = await withLocalPlatform(async (env) => {
      const horizon = async (target: "churn" | "expansion") => {
        const row = await activeModelRow(env.DB, target);
        return row ? ((await fetchArtifact(env, row)).horizonDays ?? DEFAULT_HORIZON_DAYS) : DEFAULT_HORIZON_DAYS;
      };
      const result = await forecastBacktest(d1Rows(env.DB), {
        ...options,
        horizonDays: await horizon("churn"),
        expansionHorizonDays: await horizon("expansion"),
        trajectoryActive: (await activeModelRow(env.DB, "trajectory")) !== undefined,
        onProgress: progress,
      });
      if (flags["save-shock"]) {
        const value = { ...result.calibrated, calibratedAt: new Date().toISOString(), windows: result.rolling.length, history: `${result.from}..${result.to}` };
        await db(env.DB).insert(settings).values({ key: SHOCK_SETTING, value }).onConflictDoUpdate({ target: settings.key, set: { value } });
      }
      return result;
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(forecastReport(bt, seconds));
    if (flags["save-shock"]) console.log(`\nstored σ churn ${bt.calibrated.churn}, expansion ${bt.calibrated.expansion} in settings (${SHOCK_SETTING}): GET /v1/forecast uses it from now on`);
    if (flags.json) console.log(JSON.stringify({ ...bt, seconds: Math.round(seconds) }));
  });
}
