/**
 * `GET /v1/forecast`: churned and expansion ARR, renewals due, GRR and NRR for each calendar
 * quarter ahead, with 80% and 90% intervals and the accounts behind them;
 * `POST /v1/forecast/scenarios`: the same under what-ifs, against the baseline. Validation here;
 * the forecast is report.ts (its rules hazards.ts, its combination simulate.ts).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import type { FieldError } from "../../shared/model/features";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { DEFAULT_QUARTERS, Forecast, ForecastQuery, Scenarios, ScenariosBody } from "./schemas";
import { forecast, scenarios } from "./report";

const METHOD_TEXT =
  "Per account and quarter, a renewal-aware churn probability from its current score (a renewal inside the churn model's horizon churns with the score's probability; a later one with the trajectory's health forecast or the portfolio's renewal churn rate; mid-term only a small hazard) and an expansion probability × the median expansion share of ARR; combined over accounts by 2,000 seeded Monte Carlo draws with a shared shock (a portfolio-wide log-odds shift of churn and of expansion per draw, σ calibrated on history by the backtest), so the intervals are not as narrow as independent accounts would make them. Expected values are exact. Churned accounts are left out; unscored accounts and accounts without ARR are counted in `method.excluded`. README \"Revenue forecast\" has the method in full and the backtest's coverage.";

export class GetForecast extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Forecast"],
    summary: "Revenue forecast per quarter: churned and expansion ARR, renewals due, GRR and NRR with intervals",
    description: `The current calendar quarter (from today) and the ones after it, up to \`quarters\` (1–8, default ${DEFAULT_QUARTERS}). Every figure is \`{expected, p80: [lo, hi], p90: [lo, hi]}\`; \`topAccounts\` lists the accounts contributing most to expected churned and expansion ARR. ${METHOD_TEXT} Deterministic for a given D1 state and day.`,
    security: bearer,
    request: { query: ForecastQuery },
    responses: { "200": { description: "The forecast", ...contentJson(Forecast) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    return forecast(c.env, query.quarters ?? DEFAULT_QUARTERS, query.owner ?? null);
  }
}

export class ForecastScenarios extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Forecast"],
    summary: "What-if scenarios on the revenue forecast, against the baseline",
    description: `Each scenario applies levers to the baseline's per-account probabilities: \`saveRedShare\` (red accounts' churn probability × (1 − share): "if we save half of red ARR" is 0.5), \`saveYellowShare\`, \`expansionConversion\` (blue, expansion-ready accounts expand with this probability per quarter: "if expansion readiness converts at 30%" is 0.3), \`churnMultiplier\` and \`expansionMultiplier\` (every account's probability × it, capped at 1). Returns the baseline's quarters, each scenario's, and the difference scenario − baseline per figure with its own intervals: the scenario is simulated with the baseline's draws (common random numbers). A scenario needs a unique \`name\` and at least one lever; unknown fields are refused (422 naming them). ${METHOD_TEXT}`,
    security: bearer,
    request: { body: contentJson(ScenariosBody) },
    responses: { "200": { description: "The baseline and the scenarios", ...contentJson(Scenarios) }, ...problems(400, 401, 403, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const errors: FieldError[] = [];
    const seen = new Map<string, number>();
    body.scenarios.forEach((s, i) => {
      const { name, ...levers } = s;
      if (Object.values(levers).every((v) => v === undefined)) errors.push({ field: `scenarios[${i}]`, detail: "sets no lever: give at least one of saveRedShare, saveYellowShare, expansionConversion, churnMultiplier, expansionMultiplier" });
      const first = seen.get(name);
      if (first !== undefined) errors.push({ field: `scenarios[${i}].name`, detail: `'${name}' is already the name of scenarios[${first}]` });
      else seen.set(name, i);
    });
    if (errors.length) throw invalid("The scenarios cannot be run.", errors);
    return scenarios(c.env, body.quarters ?? DEFAULT_QUARTERS, body.owner ?? null, body.scenarios);
  }
}
