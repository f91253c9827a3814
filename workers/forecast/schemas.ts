/**
 * `GET /v1/forecast` and `POST /v1/forecast/scenarios` as the API shows them. An account's fields
 * in `topAccounts` derive from the `accounts` table (drizzle-zod); every other field is a figure
 * the forecast computes, declared once here (report.ts builds them, typed by these schemas).
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { accounts } from "../../shared/db/schema";

/** The most quarters a forecast looks ahead. */
export const MAX_QUARTERS = 8;
export const DEFAULT_QUARTERS = 4;
/** The most scenarios one request compares with the baseline. */
export const MAX_SCENARIOS = 10;

const account = createSelectSchema(accounts).pick({ id: true, name: true, owner: true, arr: true, tier: true });

const Quarters = z.coerce
  .number()
  .int()
  .min(1)
  .max(MAX_QUARTERS)
  .describe(`Calendar quarters ahead, the current one (from today) first: 1–${MAX_QUARTERS}, default ${DEFAULT_QUARTERS}`);
const Owner = z.string().min(1).max(200).describe("Only this owner's accounts (the shock and the portfolio rates are still the whole portfolio's)");

export const ForecastQuery = z.object({ quarters: Quarters.optional(), owner: Owner.optional() });

export const Figure = z
  .object({
    expected: z.number().describe("The expected value"),
    p80: z.tuple([z.number(), z.number()]).describe("The central 80% interval [lo, hi]"),
    p90: z.tuple([z.number(), z.number()]).describe("The central 90% interval [lo, hi]"),
  })
  .describe("A forecast figure: its expected value and its 80% and 90% intervals");

const RenewalsDue = z
  .object({ count: Figure, arr: Figure })
  .describe("Contracts renewing in the quarter among accounts still active at its start: how many, and their ARR");

const QuarterFigures = z.object({
  start: z.string().describe("First day (YYYY-MM-DD): today for the current quarter"),
  end: z.string().describe("Last day of the calendar quarter"),
  renewalsDue: RenewalsDue,
  churnedArr: Figure.describe("ARR of the accounts that churn in the quarter (their ARR today)"),
  expansionArr: Figure.describe("ARR the quarter's expansions add"),
  grr: Figure.describe("Gross revenue retention: 1 − churned ARR ÷ ARR at the quarter's start"),
  nrr: Figure.describe("Net revenue retention: 1 − churned ARR ÷ ARR at the start + expansion ARR ÷ ARR at the start"),
});

const TopChurn = account.extend({
  churnProbability: z.number().describe("Its chance to churn in the quarter if still active at its start"),
  expectedChurnedArr: z.number().describe("ARR × its chance to churn in the quarter (having survived the quarters before)"),
});
const TopExpansion = account.extend({
  expansionProbability: z.number().describe("Its chance to expand in the quarter if still active at its start"),
  expectedExpansionArr: z.number().describe("Expansion size × its chance to expand in the quarter (having survived the quarters before)"),
});

export const Quarter = QuarterFigures.extend({
  topAccounts: z
    .object({ churn: z.array(TopChurn), expansion: z.array(TopExpansion) })
    .describe("The accounts contributing most to the quarter's expected churned ARR and expansion ARR (at most 5 each)"),
});

export const Method = z.object({
  summary: z.string().describe("The method in words (README \"Revenue forecast\" has it in full)"),
  accounts: z.number().int().describe("Accounts forecast: scored, with ARR, not churned (and the owner's, with `owner`)"),
  arr: z.number().describe("Their ARR today"),
  excluded: z.object({ unscored: z.number().int(), withoutArr: z.number().int() }).describe("Active accounts left out: never scored, or without ARR"),
  churnHorizonDays: z.number().int().describe("The churn model's horizon: a score's probability covers this many days from its day"),
  expansionHorizonDays: z.number().int().describe("The expansion model's horizon"),
  contractTermDays: z.number().int().describe("Contracts renew every this many days from their renewal date"),
  renewalChurnRate: z.number().nullable().describe("ARR-weighted churn probability of the accounts whose renewal falls in their score's horizon: used for renewals a score does not reach; null with fewer than 20 (each account's own probability is then carried forward)"),
  midTermHazardPerYear: z.number().nullable().describe("Mean mid-term churn hazard of accounts without a renewal in their score's horizon, per year: used between renewals of the others"),
  trajectory: z.boolean().describe("A trajectory model is active: renewals 90 to 90 + horizon days after a score churn with its 90-day health forecast"),
  expansion: z.object({
    share: z.number().describe("An expansion adds this share of the account's ARR"),
    shareSource: z.enum(["outcomes", "default"]).describe("outcomes: the median expansion ÷ ARR before it over the last 12 months; default: 0.2, with fewer than 20 expansions"),
    readinessScale: z.number().nullable().describe("Scorecard readiness × this = expansions per year (fitted to the last 12 months' expansion ARR); null with a trained expansion model or no history"),
  }),
  shock: z
    .object({
      churn: z.number(),
      expansion: z.number(),
      source: z.enum(["backtest", "default"]).describe("backtest: calibrated on this installation's history by `npm run backtest -- --forecast --save-shock`; default: the value calibrated on the SaaS demo (README)"),
      calibratedAt: z.string().nullable(),
    })
    .describe("Standard deviations of the portfolio-wide log-odds shifts of churn and of expansion, one draw of each per simulated future"),
  simulation: z.object({
    draws: z.number().int(),
    seed: z.number().int().describe("From today's date: the same D1 state gives the same figures all day"),
    exactAccounts: z.number().int().describe("The largest accounts drawn one by one; the others (if any) by the normal approximation conditional on the shock"),
  }),
});

export const Forecast = z.object({
  asOf: z.string(),
  owner: z.string().nullable().describe("The owner filter, if any"),
  method: Method,
  quarters: z.array(Quarter),
});

export const Levers = z
  .strictObject({
    name: z.string().min(1).max(100).describe('What the scenario is, e.g. "save half of red ARR"'),
    saveRedShare: z.number().min(0).max(1).optional().describe("Red accounts' churn probability × (1 − this)"),
    saveYellowShare: z.number().min(0).max(1).optional().describe("Yellow accounts' churn probability × (1 − this)"),
    expansionConversion: z.number().min(0).max(1).optional().describe("Blue (expansion-ready) accounts expand with this probability per quarter (pro rata for the rest of the current one)"),
    churnMultiplier: z.number().min(0).max(10).optional().describe("Every account's churn probability × this (capped at 1)"),
    expansionMultiplier: z.number().min(0).max(10).optional().describe("Every account's expansion probability × this (capped at 1)"),
  })
  .describe("A what-if: levers applied to the baseline's per-account probabilities (multipliers first, then saved shares, then conversion)");

export const ScenariosBody = z.strictObject({
  quarters: Quarters.optional(),
  owner: Owner.optional(),
  scenarios: z.array(Levers).min(1).max(MAX_SCENARIOS),
});

const Difference = QuarterFigures.describe("Scenario − baseline, draw by draw (common random numbers), per figure");

export const ScenarioResult = z.object({
  name: z.string(),
  levers: Levers.omit({ name: true }).describe("The levers as given"),
  quarters: z.array(Quarter),
  difference: z.array(Difference),
});

export const Scenarios = z.object({
  asOf: z.string(),
  owner: z.string().nullable(),
  method: Method,
  baseline: z.object({ quarters: z.array(Quarter) }),
  scenarios: z.array(ScenarioResult),
});
