/**
 * Interventions as the API shows and takes them: the `interventions` row's own fields, the playbook
 * version it runs (from the `playbooks` table) and its steps with due dates and what is done.
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { interventions, PlaybookStep, playbooks, StepDone } from "../../shared/db/schema";
import { AccountId } from "../http/schemas";

const row = createSelectSchema(interventions);
const playbookRow = createSelectSchema(playbooks);

const DATE_OR_TIME = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** True for a real calendar day (2026-02-30 is not one) and, with a time, a parseable timestamp. */
function realDateOrTime(s: string): boolean {
  const m = DATE_OR_TIME.exec(s);
  if (!m || Number.isNaN(Date.parse(s))) return false;
  const day = Date.parse(`${m[1]}T00:00:00Z`);
  return !Number.isNaN(day) && new Date(day).toISOString().slice(0, 10) === m[1];
}

/** An ISO date (YYYY-MM-DD) or timestamp (2026-12-01T09:30:00Z, with an offset or Z). */
export const DateOrTime = z
  .string()
  .regex(DATE_OR_TIME, "must be an ISO date (YYYY-MM-DD) or timestamp (YYYY-MM-DDTHH:MM:SSZ)")
  .refine(realDateOrTime, "is not a real date or time");

/** A date stays a date; a timestamp is stored in UTC as toISOString() writes it. */
export function normaliseDateOrTime(s: string): string {
  return s.length === 10 ? s : new Date(s).toISOString();
}

export const InterventionIdParam = z.string().regex(/^iv_[0-9a-f]{24}$/, "is not an intervention id (iv_ and 24 hex digits)");

/** The playbook version an intervention runs: fixed when it starts, kept when the playbook is edited. */
export const InterventionPlaybook = playbookRow.pick({ id: true, version: true, name: true, tier: true });

export const InterventionStep = PlaybookStep.extend({
  step: StepDone.shape.step,
  dueDate: z.string().describe("startedAt's day + dueDays (YYYY-MM-DD)"),
  done: z.boolean(),
  doneAt: StepDone.shape.doneAt.nullable().describe("When it was marked done (as sent, or the time of the PATCH)"),
  note: z.string().nullable(),
});

export const Intervention = row
  .pick({ id: true, accountId: true, owner: true, startedAt: true, notes: true, status: true, result: true, resultNote: true, closedAt: true, createdAt: true, updatedAt: true })
  .extend({
    accountName: z.string().nullable(),
    playbook: InterventionPlaybook,
    steps: z.array(InterventionStep).describe("The playbook version's steps in order, each with its due date and whether it is done"),
  });
export type Intervention = z.infer<typeof Intervention>;

export const InterventionCreate = z.strictObject({
  accountId: AccountId,
  playbookId: z.string().min(1).max(100).describe("A playbook id from GET /v1/playbooks"),
  playbookVersion: z.number().int().min(1).optional().describe("Default: the playbook's current version (its newest, unless retired)"),
  owner: z.string().min(1).max(200).optional().describe("The CSM running it; default the account's owner"),
  startedAt: DateOrTime.optional().describe("ISO date or timestamp; default now. Step due dates count from its day"),
  notes: z.string().max(5000).nullable().optional(),
});

export const StepDoneInput = z.strictObject({
  step: StepDone.shape.step,
  doneAt: DateOrTime.optional().describe("Default: now"),
  note: StepDone.shape.note,
});

export const InterventionPatch = z.strictObject({
  stepsDone: z.array(StepDoneInput).max(100).optional().describe("Steps done, merged by step index into those already recorded"),
  status: row.shape.status.optional().describe("completed or cancelled closes it (sets closedAt); open reopens it"),
  result: row.shape.result.optional().describe("What came of it"),
  resultNote: z.string().max(5000).nullable().optional(),
  notes: z.string().max(5000).nullable().optional(),
});
export type InterventionPatch = z.infer<typeof InterventionPatch>;

export const InterventionList = z.object({ interventions: z.array(Intervention).describe("Newest first (by startedAt)") });
