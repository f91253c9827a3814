/**
 * The weekly insights digest as the API and the `insights.weekly` webhook show it. The digest's own
 * fields derive from the `insights` table, the listed accounts' from `accounts`, and the impact,
 * adoption and model-health figures from those concepts' schemas (drizzle-zod and `.pick()`), so no
 * figure is declared twice. Every section carries `query`: the name of the README query that
 * reproduces its figures from D1 (README "Insights").
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { accounts, insights } from "../../shared/db/schema";
import { OwnerAdoption, Adoption } from "../adoption/schemas";
import { Impact } from "../impact/schemas";
import { PerformanceEntry } from "../monitoring/performance";
import { RiskTier } from "../scoring/schemas";
import { LISTED_PER_OWNER } from "./queries";
import { weekRange, WEEK_PATTERN } from "./weeks";


export const Week = z
  .string()
  .regex(WEEK_PATTERN, { message: "must be an ISO week as YYYY-Www, e.g. 2026-W49", abort: true })
  .refine((w) => weekRange(w) !== null, "is not a real ISO week (W01 to W52, or W53 in years that have one)")
  .describe("An ISO week (Monday to Sunday, UTC), e.g. 2026-W49");

const row = createSelectSchema(insights);
const account = createSelectSchema(accounts);

/** What every section has: `id`, `title`, the README `query` that reproduces it, and `text`, the figures in a sentence or two. */
const head = <Id extends string>(id: Id, query: string) => ({
  id: z.literal(id),
  title: z.string(),
  query: z.literal(query).describe(`The README query (README "Insights") that reproduces this section's figures: ${query}`),
  text: z.string().describe("The section in words"),
});

/** An owner's accounts in a section: at most LISTED_PER_OWNER, most ARR first, and how many more there are. */
const perOwner = <T extends z.ZodTypeAny>(listed: T) =>
  z.object({
    owner: account.shape.owner.describe("The account owner (null: no owner)"),
    accounts: z.array(listed).describe(`At most ${LISTED_PER_OWNER}, most ARR first`),
    more: z.number().int().describe("The owner's accounts in this section that are not listed"),
  });

const Listed = account.pick({ id: true, name: true, arr: true });

export const MovedAccount = Listed.extend({
  from: RiskTier.describe("Its risk tier when the week began (before its first move in the week)"),
  to: RiskTier.describe("Its risk tier when the week ended (after its last move)"),
  churnProbability: z.number().nullable().describe("The churn probability of its last move"),
});

export const TierMoves = z.object({
  ...head("tier-moves", "insights-tier-moves"),
  accounts: z.number().int().describe("Accounts whose risk tier at the end of the week differs from the one they started it in"),
  arr: z.number().describe("Their ARR (as of their last move)"),
  moves: z
    .array(z.object({ from: RiskTier, to: RiskTier, accounts: z.number().int(), arr: z.number() }))
    .describe("Accounts and ARR per (from → to), most ARR first"),
  returned: z.number().int().describe("Accounts that moved during the week but ended it in the tier they started in (not listed)"),
  owners: z.array(perOwner(MovedAccount)).describe("The moved accounts per owner, by owner name"),
});

export const RedDriver = z.object({
  feature: z.string().nullable().describe("The column of the top risk-raising driver; null: the latest score names none"),
  signal: z.string().nullable().describe("The CS signal the column holds (logins, tickets, ...), when recognised"),
  label: z.string().describe("The driver in words"),
  accounts: z.number().int().describe("Red accounts whose top risk-raising driver it is"),
  arr: z.number().describe("Their ARR"),
  share: z.number().nullable().describe("arr ÷ red ARR (null when red ARR is 0)"),
  previousShare: z.number().nullable().describe("Its share in the previous stored digest (null: none, or not there)"),
  change: z.number().nullable().describe("share − previousShare"),
});

export const RedDrivers = z.object({
  ...head("red-drivers", "insights-red-drivers"),
  redAccounts: z.number().int().describe("Accounts whose current risk tier is red"),
  redArr: z.number().describe("Their ARR"),
  comparedWith: row.shape.week.nullable().describe("The previous stored digest's week; null for the first digest"),
  drivers: z.array(RedDriver).describe("Each driver that is the top one of some red ARR now or was in the previous digest, largest share first"),
});

export const ReadyAccount = Listed.extend({
  expansionProbability: z.number().nullable(),
  reason: z.string().nullable().describe("Why it is ready, in words"),
});

export const ExpansionReady = z.object({
  ...head("expansion-ready", "insights-expansion-ready"),
  accounts: z.number().int().describe("Accounts that turned expansion-ready (blue) during the week"),
  arr: z.number().describe("Their ARR"),
  owners: z.array(perOwner(ReadyAccount)).describe("Those accounts per owner, by owner name"),
});

export const ImpactSection = z.object({
  ...head("impact", "impact"),
  ...Impact.pick({ from: true, to: true, asOf: true, treated: true, control: true, method: true, uplift: true, relativeImprovement: true, arrProtected: true, pendingAccounts: true, summary: true }).shape,
});

export const AdoptionSection = z.object({
  ...head("adoption", "insights-adoption"),
  ...Adoption.pick({ asOf: true, workdays: true, minActiveDays: true, share: true, activeOwners: true, ownerCount: true }).shape,
  below: z.array(OwnerAdoption.pick({ owner: true, activeDays: true, accounts: true })).describe("Owners active on fewer than minActiveDays of the workdays, fewest first"),
});

export const ModelHealth = z.object({
  ...head("model-health", "insights-model-health"),
  modelVersion: z.string().nullable().describe("The active churn model; null when none is active"),
  monitored: z.boolean().describe("Whether monitoring has computed figures for it by the end of the week"),
  computedAt: PerformanceEntry.shape.computedAt.nullable().describe("When monitoring computed these figures (the latest before the week ended); null when it has not run"),
  scoresEvaluated: PerformanceEntry.shape.scoresEvaluated.nullable(),
  ...PerformanceEntry.pick({ auc: true, brier: true, precisionAtRed: true, recallAtRed: true, maxFeaturePsi: true, predictionPsi: true, alerts: true }).shape,
  topDrift: z.array(z.object({ feature: z.string(), psi: z.number() })).describe("The three signals with the largest PSI"),
});

export const Section = z.discriminatedUnion("id", [TierMoves, RedDrivers, ExpansionReady, ImpactSection, AdoptionSection, ModelHealth]);
export type Section = z.infer<typeof Section>;
export type TierMoves = z.infer<typeof TierMoves>;
export type RedDrivers = z.infer<typeof RedDrivers>;
export type RedDriver = z.infer<typeof RedDriver>;
export type ExpansionReady = z.infer<typeof ExpansionReady>;
export type ImpactSection = z.infer<typeof ImpactSection>;
export type AdoptionSection = z.infer<typeof AdoptionSection>;
export type ModelHealth = z.infer<typeof ModelHealth>;

export const Digest = row.pick({ week: true, generatedAt: true, eventId: true }).extend({
  week: row.shape.week.describe("The ISO week, e.g. 2026-W49"),
  generatedAt: row.shape.generatedAt.describe("When the digest was built"),
  complete: z.boolean().describe("Built after the week ended; false for a preview of the week in progress (rebuilt until it ends, and never sent)"),
  eventId: row.shape.eventId.describe("The insights.weekly event that sent it; null for a preview"),
  sections: z.array(Section).describe("tier-moves, red-drivers, expansion-ready, impact, adoption, model-health, in that order"),
});
export type Digest = z.infer<typeof Digest>;

export const InsightsQuery = z.object({ week: Week.optional().describe("The ISO week to return, e.g. 2026-W49; default the latest stored") });

export const GenerateBody = z.object({ week: Week.optional().describe("The week to build; default the week that just ended") });
