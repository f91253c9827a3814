/**
 * Playbooks and recommendations as the API shows them, derived from the `playbooks` and
 * `holdout_assignments` tables (drizzle-zod); the steps and template shapes are the ones the
 * table's JSON columns are typed with.
 */
import { createInsertSchema, createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { holdoutAssignments, PlaybookStep, PlaybookTemplate, playbooks } from "../../shared/db/schema";
import { PortfolioTier } from "../scoring/schemas";
import { templateErrors } from "./templates";

export const PlaybookId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

const row = createSelectSchema(playbooks);
const insert = createInsertSchema(playbooks);

export const Steps = z.array(PlaybookStep).min(1, "needs at least one step").max(20, "at most 20 steps").describe("In order; each step's dueDays is days after the start");

/** A playbook version as the API shows it. */
export const Playbook = row.pick({ id: true, version: true, name: true, tier: true, driver: true, leadDays: true, retiredAt: true, createdAt: true }).extend({
  driver: row.shape.driver.describe("The dominant driver it applies to: a column (logins_30d) or a CS signal (logins, tickets, adoption, sinceQbr, renewal, contractValue); null for every account in the tier"),
  leadDays: row.shape.leadDays.describe("Days of lead time before the forecast turns red (or the renewal): sets actBy"),
  steps: z.array(PlaybookStep),
  template: PlaybookTemplate.describe("The outreach email, with {{placeholders}} (README \"Playbooks\")"),
  retiredAt: row.shape.retiredAt.describe("When it was deleted; retired playbooks are never recommended, their versions stay readable"),
  createdAt: row.shape.createdAt.describe("When this version was written"),
});
export type Playbook = z.infer<typeof Playbook>;

export const PlaybookList = z.object({ playbooks: z.array(Playbook).describe("The current version of every playbook not retired: red, yellow, blue, driver-specific first") });

export const PlaybookWithVersions = Playbook.extend({
  versions: z.array(Playbook.pick({ version: true, name: true, createdAt: true })).describe("Every version, oldest first"),
});

/** `steps` in order: a step is never due before the one above it. */
function stepsInOrder(steps: readonly PlaybookStep[] | undefined, ctx: z.RefinementCtx): void {
  steps?.forEach((s, i) => {
    if (i > 0 && s.dueDays < steps[i - 1].dueDays) {
      ctx.addIssue({ code: "custom", path: ["steps", i, "dueDays"], message: `is earlier than the step before it (${steps[i - 1].dueDays}): list steps in the order they are due` });
    }
  });
}

function placeholdersKnown(template: Partial<PlaybookTemplate> | undefined, ctx: z.RefinementCtx): void {
  if (!template) return;
  for (const e of templateErrors(template)) ctx.addIssue({ code: "custom", path: e.field.split("."), message: e.detail });
}

const fields = {
  name: insert.shape.name.pipe(z.string().trim().min(1).max(200)),
  tier: insert.shape.tier.describe("red, yellow or blue"),
  driver: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_. -]{0,99}$/, "must be a plain column or signal name (letters, digits, '_', '.', '-', spaces), e.g. logins or support_tickets_30d")
    .nullable()
    .describe("A column or CS signal; null or absent: the whole tier"),
  leadDays: z.number().int().min(0).max(365).describe("Days of lead time (0-365)"),
  steps: Steps,
  template: PlaybookTemplate.extend({ subject: z.string().min(1).max(300), body: z.string().min(1).max(20_000) }),
};

/** `POST /v1/playbooks`: a new playbook (version 1). */
export const PlaybookCreate = z
  .strictObject({ id: PlaybookId.optional().describe("Generated (pb_…) when absent"), ...fields, driver: fields.driver.optional() })
  .superRefine((b, ctx) => {
    stepsInOrder(b.steps, ctx);
    placeholdersKnown(b.template, ctx);
  });

/** `PUT /v1/playbooks/{id}`: the whole playbook again, written as a new version. */
export const PlaybookReplace = z.strictObject({ ...fields, driver: fields.driver.optional() }).superRefine((b, ctx) => {
  stepsInOrder(b.steps, ctx);
  placeholdersKnown(b.template, ctx);
});

/** `PATCH /v1/playbooks/{id}`: some fields (the template's subject and body each), written as a new version. */
export const PlaybookPatch = z
  .strictObject({
    name: fields.name.optional(),
    tier: fields.tier.optional(),
    driver: fields.driver.optional(),
    leadDays: fields.leadDays.optional(),
    steps: fields.steps.optional(),
    template: fields.template.partial().optional(),
  })
  .superRefine((b, ctx) => {
    stepsInOrder(b.steps, ctx);
    placeholdersKnown(b.template, ctx);
    if (Object.keys(b).length === 0) ctx.addIssue({ code: "custom", path: [], message: "send at least one of name, tier, driver, leadDays, steps, template" });
  });

const assignment = createSelectSchema(holdoutAssignments);

/** The account's holdout assignment behind the answer. */
export const HoldoutView = assignment.pick({ arm: true, tier: true, period: true, assignedAt: true }).extend({
  until: z.string().describe("The day (YYYY-MM-DD) the assignment's window ends: the control group sees no playbook before it"),
});

export const Recommendation = z.object({
  accountId: z.string(),
  tier: PortfolioTier.nullable().describe("The account's portfolio tier; null before its first score"),
  playbook: Playbook.pick({ id: true, version: true, name: true, tier: true, driver: true })
    .nullable()
    .describe("The most specific current playbook for the tier and top driver; null for green accounts and for the control group"),
  actBy: z.string().nullable().describe("The latest day to start (YYYY-MM-DD), from the trajectory with the playbook's lead days; null for the control group"),
  reasons: z.array(z.string()).describe("Why, in words: the tier, the top driver and the playbook chosen, or why there is none; then what set actBy"),
  steps: z.array(z.object({ title: z.string(), dueDate: z.string().describe("Today + the step's dueDays") })),
  draft: z.object({ subject: z.string(), body: z.string() }).nullable().describe("The outreach email rendered from the playbook's template with the account's own values"),
  controlGroup: z.boolean().describe("true: held out of playbooks by the randomized holdout, so that their effect can be measured"),
  holdout: HoldoutView.nullable().describe("The holdout assignment that applies, if any"),
});
export type Recommendation = z.infer<typeof Recommendation>;
