/**
 * CSM feedback as the API shows and takes it: the `feedback` row's own fields, and the accuracy
 * report over verdicts whose outcomes are known (the figures `policy.ts` computes).
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { feedback } from "../../shared/db/schema";
import { RISK_TIERS } from "../../shared/tiers";

const row = createSelectSchema(feedback);

export const Feedback = row
  .pick({ id: true, accountId: true, scoreId: true, modelVersion: true, churnProbability: true, riskTier: true, verdict: true, reason: true, expectedTier: true, owner: true, createdAt: true })
  .extend({
    riskTier: row.shape.riskTier.describe("The model's risk tier on the score the verdict was given on"),
    expectedTier: row.shape.expectedTier.describe("The risk tier the CSM expects instead (disagree only); null when not stated"),
  });

export const FeedbackCreate = z.strictObject({
  verdict: row.shape.verdict.describe("agree: the score's risk tier is right; disagree: it is not"),
  reason: z.string().min(1).max(2000).describe("Why, in the CSM's words"),
  expectedTier: z.enum(RISK_TIERS).optional().describe("With disagree: the risk tier the CSM expects instead (red, yellow or green)"),
  owner: z.string().min(1).max(200).optional().describe("Who gives it; default the account's owner"),
});

export const FeedbackList = z.object({ feedback: z.array(Feedback).describe("Newest first") });


const TierProbability = z.number().nullable();

/** What `feedbackAccuracy` computes. */
export const FeedbackAccuracyFigures = z.object({
  horizonDays: z.number().int().describe("Days after a verdict in which a churn counts"),
  feedback: z.number().int().describe("Verdicts given in the period"),
  considered: z.number().int().describe("Those left after keeping the latest verdict per account and score (a verdict sent again on the same score corrects the earlier one)"),
  evaluable: z.number().int().describe("Considered verdicts whose horizon has passed, or whose account churned within it"),
  pending: z.number().int().describe("Within their horizon with no churn yet"),
  gone: z.number().int().describe("On accounts that had already churned (left out)"),
  churned: z.number().int().describe("Evaluable verdicts whose account churned within the horizon"),
  agreed: z.object({ evaluable: z.number().int(), churned: z.number().int() }),
  disagreed: z.object({
    evaluable: z.number().int(),
    withExpectedTier: z.number().int().describe("Evaluable disagreements that stated another tier: the ones who-was-right can be judged on"),
    csmRight: z.number().int().describe("The outcome sided with the CSM's tier: they expected a riskier tier and the account churned, or a safer one and it did not"),
    modelRight: z.number().int().describe("The outcome sided with the model's tier"),
    csmRightRate: z.number().nullable().describe("csmRight / withExpectedTier; null below 10 such disagreements"),
  }),
  tierProbability: z
    .object({ red: TierProbability, yellow: TierProbability, green: TierProbability })
    .describe("A stated tier as a probability: the mean churn probability the model gave the considered verdicts' scores in that tier (null if none was)"),
  brier: z.object({
    rows: z.number().int().describe("Evaluable verdicts with a known CSM tier (agree: the model's tier; disagree: expectedTier) that has a probability"),
    churned: z.number().int(),
    model: z.number().nullable().describe("Brier score of the model's churn probability on those verdicts' scores"),
    csm: z.number().nullable().describe("Brier score of the CSMs' tiers, each read as tierProbability"),
    blend: z.number().nullable().describe("Brier score of the mean of the two"),
    best: z.enum(["model", "csm", "blend"]).nullable().describe("The lowest (best) of the three"),
  }).describe("Lower is better; null below 30 rows or with only one outcome among them"),
  notes: z.array(z.string()).describe("What was left out, and why any figure is null"),
});
export type FeedbackAccuracyFigures = z.infer<typeof FeedbackAccuracyFigures>;

export const FeedbackAccuracy = FeedbackAccuracyFigures.extend({
  from: z.string().describe("First day of the period (verdicts given on or after it)"),
  to: z.string().describe("Last day of the period"),
  horizonSource: z.enum(["query", "model", "default"]).describe("Where horizonDays came from: the query, the active churn model, or the 90-day default"),
});
