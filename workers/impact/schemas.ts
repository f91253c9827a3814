/**
 * `GET /v1/impact` as the API shows it. The playbook and owner keys derive from the
 * `holdout_assignments` table (drizzle-zod); everything else is a figure computed from its rows,
 * declared here once: `figures.ts` and `report.ts` take their types from these schemas.
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { holdoutAssignments } from "../../shared/db/schema";
import { IsoDate } from "../http/schemas";
import { PlaybookId } from "../playbooks/schemas";
import { METHODS, MIN_ACCOUNTS_PER_ARM, MIN_CHURNS_PER_ARM, MIN_EVENTS_FOR_WALD, TARGET_RELATIVE_IMPROVEMENT, TRANSITION_DAYS } from "./stats";

const assignment = createSelectSchema(holdoutAssignments);

export const ImpactQueryParams = z.object({
  from: IsoDate.optional().describe("First assignment day (YYYY-MM-DD), default 365 days before `to`"),
  to: IsoDate.optional().describe("Last assignment day (YYYY-MM-DD), included; default today (UTC)"),
  playbook: PlaybookId.optional().describe("Only assignments to this playbook id (for the control group: the playbook it would have had)"),
});

const Arm = z.object({
  accounts: z.number().int().describe("Assignments in the arm whose outcome window has closed (an account that entered a tier twice counts twice)"),
  churned: z.number().int().describe("Of them, those with a `churned` outcome dated from the assignment day to the assignment day + windowDays"),
  churnRate: z.number().nullable().describe("churned ÷ accounts, unadjusted; null without accounts"),
  arr: z.number().describe("Σ ARR at assignment"),
});

const Interval = (what: string) =>
  z.object({
    estimate: z.number().nullable().describe(what),
    ci95: z.tuple([z.number(), z.number()]).nullable().describe("95% interval [lo, hi]; null with too little data (see `reasons`)"),
  });

const TransitionArm = z.object({
  accounts: z.number().int().describe("Assignments into red whose N-day window has passed"),
  recovered: z.number().int().describe("Of them, those with a yellow or green score within N days after the assignment"),
  share: z.number().nullable().describe("recovered ÷ accounts; null when no window has passed"),
});

export const ImpactFigures = z.object({
  treated: Arm.describe("Accounts that got the playbook"),
  control: Arm.describe("Accounts held out of playbooks (the randomized control group)"),
  method: z
    .enum(METHODS)
    .nullable()
    .describe(
      `cupac: churn adjusted by the churn probability at assignment, y − θ(x − x̄) with θ pooled within arms, Wald interval; newcombe: unadjusted, Newcombe's hybrid score interval (arms with fewer than ${MIN_EVENTS_FOR_WALD} churns or non-churns, or no covariate). null: too little data`,
    ),
  uplift: Interval("Control churn rate − treated churn rate (adjusted under cupac): the share of accounts playbooks kept"),
  relativeImprovement: Interval("uplift ÷ control churn rate, e.g. 0.25 = a quarter fewer churns; interval by the delta method on the log of the rate ratio"),
  arrProtected: Interval("uplift × treated ARR, with the uplift's interval × treated ARR"),
  adjustment: z
    .object({
      covariate: z.literal("churnProbability"),
      theta: z.number().describe("Slope of churn on the churn probability at assignment, pooled within the arms"),
      varianceReduction: z.number().nullable().describe("Share of the uplift's variance the adjustment removed"),
    })
    .nullable()
    .describe("The CUPAC adjustment, when method is cupac"),
  transitions: z
    .array(z.object({ days: z.number().int(), treated: TransitionArm, control: TransitionArm }))
    .describe(`Red → yellow/green within ${TRANSITION_DAYS.join(", ")} days of an assignment into red, per arm`),
  power: z
    .object({
      alpha: z.number(),
      power: z.number(),
      basis: z.enum(["observed", "target"]).nullable().describe(`observed: sized for the observed uplift; target: for a ${TARGET_RELATIVE_IMPROVEMENT * 100}% cut from the control (or predicted) churn rate, when the observed uplift is missing or not positive`),
      effect: z.number().nullable().describe("The uplift sized for (a share: 0.08 = 8 points)"),
      baselineChurnRate: z.number().nullable(),
      controlShare: z.number().describe("The arms' split used: the observed control share (HOLDOUT_SHARE while an arm is empty)"),
      neededPerArm: z.object({ control: z.number().int(), treated: z.number().int() }).nullable().describe("Accounts needed per arm at α 0.05 two-sided and 80% power"),
      moreNeeded: z.object({ control: z.number().int(), treated: z.number().int(), total: z.number().int() }).nullable().describe("neededPerArm minus the accounts there are, at least 0"),
      sufficient: z.boolean(),
      note: z.string(),
    })
    .describe("How many accounts detecting the effect takes"),
  reasons: z.array(z.string()).describe(`Why figures are null or unadjusted (fewer than ${MIN_ACCOUNTS_PER_ARM} accounts or ${MIN_CHURNS_PER_ARM} churn in an arm: no estimate)`),
  summary: z.string().describe("One sentence. It claims a figure only when the uplift's 95% lower bound is above zero; otherwise it says the effect is not yet distinguishable from zero and how many more accounts are needed"),
});

export const Impact = ImpactFigures.extend({
  from: z.string(),
  to: z.string(),
  asOf: z.string().describe("The day outcome windows were judged closed on"),
  playbook: z.string().nullable().describe("The playbook filter, if any"),
  pendingAccounts: z.number().int().describe("Assignments in the period whose outcome window (assignedAt + windowDays) is still open: left out"),
  playbooks: z.array(ImpactFigures.extend(assignment.pick({ playbookId: true }).shape)).describe("The same figures per playbook, most accounts first"),
  owners: z.array(ImpactFigures.extend(assignment.pick({ owner: true }).shape)).describe("The same figures per owner (the CSM at assignment), most accounts first"),
});
