/**
 * Request and response shapes shared by several routes. Storage shapes come from the drizzle
 * tables (drizzle-zod); the OpenAPI document is generated from these Zod schemas.
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { accounts } from "../../shared/db/schema";

export const AccountId = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, "must be 1-128 characters of letters, digits and . _ : @ -")
  .describe("Your account id, as in your CRM");

/** A signal value: number, string or boolean; null means missing (the model imputes it). */
export const SignalValue = z.union([z.number(), z.string().max(1000), z.boolean(), z.null()]);

export const Features = z
  .record(z.string().min(1).max(200), SignalValue)
  .describe("Signals keyed by your own column names, e.g. {\"tenure\": 2, \"Contract\": \"Month-to-month\"}");

export const IsoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD").refine((s) => !Number.isNaN(Date.parse(s)), "is not a real date");

export const Driver = z.object({
  feature: z.string().describe("Your column name"),
  value: SignalValue.optional(),
  contribution: z.number().describe("Signed contribution to the churn log-odds (exact SHAP); positive raises risk"),
  effect: z.enum(["raises risk", "lowers risk"]),
  phrase: z.string(),
});

export const RiskTier = z.enum(["red", "yellow", "green"]);

export const PortfolioTier = z
  .enum(["red", "yellow", "green", "blue"])
  .describe("The risk tier, except that an expansion-ready account (expansion probability at or above the threshold, churn below 0.40) is blue");

export const ExpansionReadiness = z.object({
  expansionReady: z.boolean(),
  expansionProbability: z.number().min(0).max(1).describe("Expansion model probability, or the scorecard's readiness on the same 0-1 scale"),
  reason: z.string().describe("Why the account is or is not ready, in a CSM's words"),
  source: z.enum(["model", "scorecard"]).describe("scorecard until `expanded` outcomes have trained an expansion model"),
  modelVersion: z.string().nullable().describe("The expansion model's version; null for the scorecard"),
});

export const Confidence = z.enum(["high", "medium", "low"]);

export const ScoreResult = z.object({
  churnProbability: z.number().min(0).max(1).describe("Calibrated probability that the account churns"),
  interval: z
    .tuple([z.number(), z.number()])
    .describe("90% range for churnProbability: how precisely accounts scored like this one were observed to churn, out of fold"),
  confidence: Confidence.describe("high: interval narrower than 0.15 and every signal present; low: wider than 0.30, more than two signals imputed, or an unseen category"),
  riskTier: RiskTier,
  drivers: z.array(Driver),
  modelVersion: z.string(),
  imputed: z.array(z.string()).describe("Features that were missing or null and were imputed"),
  unseenLevels: z.array(z.string()).describe("Categorical features whose value the model never saw in training"),
  baseValue: z.number().describe("SHAP base value (log-odds); baseValue + Σ contributions = margin"),
  margin: z.number().describe("The model's log-odds before calibration"),
  nextAction: z.string().nullable().describe("What a CSM should do next, from the driver that raises risk the most; null with drivers=0"),
  driversMethod: z.enum(["exact", "occlusion"]).describe("exact: linear SHAP or TreeSHAP; occlusion: MLP, signal reset to the average"),
  tier: PortfolioTier,
  expansion: ExpansionReadiness,
  accountId: z.string().optional(),
  scoredAt: z.string(),
});

const accountRow = createSelectSchema(accounts);

export const StoredScore = z.object({
  churnProbability: z.number(),
  interval: z.tuple([z.number(), z.number()]).nullable(),
  confidence: Confidence.nullable(),
  riskTier: z.string(),
  drivers: z.array(z.unknown()),
  imputed: z.array(z.string()),
  modelVersion: z.string(),
  scoredAt: z.string(),
  source: z.string().describe("What produced the score: api, batch, rescore, start"),
  tier: PortfolioTier,
  expansion: ExpansionReadiness.nullable(),
});

export const Account = accountRow
  .pick({ id: true, name: true, arr: true, renewalDate: true, owner: true, createdAt: true, updatedAt: true })
  .extend({ features: Features, score: StoredScore.nullable().describe("The latest score, or null before the first scoring") });

export const ProblemDetails = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), detail: z.string() })).optional(),
});

/** OpenAPI responses for the problems a route can answer with. */
export function problems(...statuses: number[]) {
  const text: Record<number, string> = {
    400: "Malformed JSON",
    401: "Missing or invalid API key",
    403: "The key lacks the scope",
    404: "Not found",
    413: "Body over 1 MB",
    415: "Body is not JSON",
    422: "Invalid fields, listed in errors[]",
    429: "Rate limit exceeded; retry after Retry-After seconds",
    503: "No active model",
  };
  return Object.fromEntries(
    statuses.map((s) => [String(s), { description: text[s] ?? "Problem", content: { "application/problem+json": { schema: ProblemDetails } } }]),
  );
}

export const bearer = [{ bearer: [] as string[] }];
