/** The worklist's shapes: one CSM's week, and each owner's load against capacity (from `owners`). */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { owners } from "../../shared/db/schema";
import { Recommendation } from "../playbooks/schemas";
import { ScoreView } from "../scoring/schemas";

export const WorklistEntry = z.object({
  id: z.string(),
  name: z.string().nullable(),
  owner: z.string().nullable(),
  arr: z.number().nullable(),
  renewalDate: z.string().nullable(),
  score: ScoreView.pick({ churnProbability: true, health: true, riskTier: true, tier: true, trend: true, actBy: true, modelVersion: true, scoredAt: true }),
  expectedArrSaved: z.number().describe("churnProbability × ARR × urgency (1 when actBy is within 7 days or past, 7 / days when later, 7 / 90 when nothing is due)"),
  openIntervention: z
    .object({ id: z.string(), playbookId: z.string(), startedAt: z.string() })
    .nullable()
    .describe("An intervention already open on the account, if any"),
  recommendation: Recommendation,
});

export const Worklist = z.object({
  owner: z.string(),
  capacity: z.number().int().describe("Accounts this CSM can work this week: ?capacity=, else the owner's setting, else WORKLIST_CAPACITY"),
  week: z.object({ from: z.string(), to: z.string() }).describe("The seven days the list is for"),
  accounts: z.array(WorklistEntry).describe("At most `capacity`, by expectedArrSaved, largest first; the control group is skipped"),
  candidates: z.number().int().describe("The owner's scored accounts that have not churned"),
  skippedControl: z.number().int().describe("Accounts passed over because the randomized holdout holds them out"),
});

const owner = createSelectSchema(owners);

export const OwnerLoad = owner.pick({ owner: true, capacity: true }).extend({
  capacitySource: z.enum(["owner", "default"]).describe("`owner`: set with PUT /v1/worklist/owners/{owner}; `default`: WORKLIST_CAPACITY"),
  accounts: z.number().int().describe("Accounts the owner holds that have not churned"),
  dueThisWeek: z.number().int().describe("Of those, scored accounts whose actBy is within 7 days (or past), outside the control group"),
  load: z.number().describe("dueThisWeek / capacity; above 1 the owner cannot work every due account this week"),
  overCapacity: z.boolean(),
  arrAtRisk: z.number().describe("Σ ARR × churn probability over the owner's accounts"),
  openInterventions: z.number().int(),
});

export const OwnerLoads = z.object({ owners: z.array(OwnerLoad).describe("Highest load first") });

export const CapacityBody = z.strictObject({ capacity: z.number().int().min(1).max(1000).describe("Accounts a week") });
