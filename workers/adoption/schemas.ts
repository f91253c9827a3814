/** The adoption report as the API shows it; the owner and action names come from the `owner_usage` table. */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { ownerUsage, USAGE_ACTIONS, type UsageAction } from "../../shared/db/schema";

const usage = createSelectSchema(ownerUsage);

const Counts = z
  .object(Object.fromEntries(USAGE_ACTIONS.map((a) => [a, z.number().int()])) as Record<UsageAction, z.ZodNumber>)
  .describe("Uses on the workdays considered, by action: worklist and recommendation views, interventions (created or updated) and feedback");

export const OwnerAdoption = z.object({
  owner: usage.shape.owner,
  accounts: z.number().int().describe("Accounts the owner owns"),
  activeDays: z.number().int().describe("Workdays considered with any use"),
  active: z.boolean().describe("activeDays ≥ minActiveDays"),
  activeOn: z.array(usage.shape.day).describe("Those workdays"),
  counts: Counts,
  total: z.number().int(),
  lastActiveDay: usage.shape.day.nullable().describe("Latest day with any use up to asOf, weekends included; null if never"),
});

export const Adoption = z.object({
  asOf: z.string().describe("The day the report ends at (YYYY-MM-DD, UTC)"),
  workdays: z.array(z.string()).describe("The last 5 workdays (Monday to Friday) ending at asOf, oldest first"),
  minActiveDays: z.number().int(),
  share: z.number().nullable().describe("Share of owners active on at least minActiveDays of the workdays; null with no owners"),
  activeOwners: z.number().int(),
  ownerCount: z.number().int().describe("Every distinct account owner, plus anyone with usage on the workdays"),
  summary: z.string(),
  owners: z.array(OwnerAdoption).describe("By owner name"),
});
export type Adoption = z.infer<typeof Adoption>;
