/** A trajectory as the API shows it. */
import { z } from "zod";
import { HealthAt, HORIZONS, TRENDS } from "../../shared/cs/trajectory";

export const HorizonForecast = z.object({
  days: z.union(HORIZONS.map((d) => z.literal(d)) as [z.ZodLiteral<30>, z.ZodLiteral<60>, z.ZodLiteral<90>]),
  health: z.number().describe("Forecast health this many days ahead"),
  lower: z.number().describe("Lower bound of the 90% interval"),
  upper: z.number().describe("Upper bound of the 90% interval"),
});

export const Trajectory = z.object({
  accountId: z.string(),
  health: z.number().int().describe("Health today: round(100 × (1 − churnProbability)) of the current score"),
  horizons: z.array(HorizonForecast).describe("Forecast health at 30, 60 and 90 days with 90% intervals"),
  trend: z.enum(TRENDS).describe("declining when the 90-day upper bound is below today's health, improving when the lower bound is above it, else stable"),
  actBy: z
    .string()
    .nullable()
    .describe("The latest day (YYYY-MM-DD) that leaves the playbook lead time before the forecast reaches red or the renewal; today when already red; null when neither is in sight"),
  reasons: z.array(z.string()).describe("What set actBy, first, and the trend, in words"),
  source: z.enum(["model", "trend"]).describe("model: the active trajectory model; trend: the account's own damped trend (no trajectory model is active), with a wide interval"),
  history: z.array(HealthAt).describe("Weekly health, oldest first, ending today"),
  scoredAt: z.string().describe("When the score behind today's health was made"),
});
