/**
 * Interventions' rules, apart from any I/O: the steps' due dates, merging steps marked done into
 * those already recorded, and what a status change does to `closedAt`.
 */
import { addDays } from "../../shared/days";
import type { PlaybookStep, StepDone } from "../../shared/db/schema";
import type { FieldError } from "../../shared/model/features";

/** An intervention's status: open until completed or cancelled. */
export type InterventionStatus = "open" | "completed" | "cancelled";

/** A step marked done in a PATCH: doneAt defaults to the time of the PATCH. */
export interface StepDoneEdit {
  step: number;
  doneAt?: string;
  note?: string;
}

/**
 * Each step of the playbook version with its due date (startedAt's day + dueDays) and whether it
 * is done.
 *
 * @example
 *   interventionSteps([{ title: "Executive business review", dueDays: 7 }], [], "2026-12-01T09:00:00.000Z");
 *   // [{ step: 0, title: "Executive business review", dueDays: 7, dueDate: "2026-12-08", done: false, doneAt: null, note: null }]
 */
export function interventionSteps(steps: readonly PlaybookStep[], done: readonly StepDone[], startedAt: string) {
  const byStep = new Map(done.map((d) => [d.step, d]));
  return steps.map((s, step) => {
    const d = byStep.get(step);
    return { step, title: s.title, dueDays: s.dueDays, dueDate: addDays(startedAt, s.dueDays), done: d !== undefined, doneAt: d?.doneAt ?? null, note: d?.note ?? null };
  });
}

/**
 * Merges `edits` into the steps already done, by step index: a step marked again keeps its first
 * `doneAt` unless the edit names one, and its note unless the edit carries one. A step index
 * outside the version's `stepCount` steps is an error naming `stepsDone[i].step`. The result is
 * ordered by step.
 */
export function mergeStepsDone(current: readonly StepDone[], edits: readonly StepDoneEdit[], stepCount: number, now: string): { stepsDone: StepDone[]; errors: FieldError[] } {
  const errors: FieldError[] = [];
  edits.forEach((e, i) => {
    if (e.step >= stepCount) errors.push({ field: `stepsDone[${i}].step`, detail: `there is no step ${e.step}: the playbook version has ${stepCount} step(s), numbered 0 to ${stepCount - 1}` });
  });
  const byStep = new Map(current.map((d) => [d.step, d]));
  if (errors.length === 0) {
    for (const e of edits) {
      const before = byStep.get(e.step);
      const note = e.note ?? before?.note;
      byStep.set(e.step, { step: e.step, doneAt: e.doneAt ?? before?.doneAt ?? now, ...(note !== undefined ? { note } : {}) });
    }
  }
  return { stepsDone: [...byStep.values()].sort((a, b) => a.step - b.step), errors };
}

/**
 * `closedAt` after a status change: set when an open intervention is completed or cancelled,
 * kept when it stays closed, cleared when it is reopened.
 */
export function closedAtAfter(before: InterventionStatus, after: InterventionStatus, closedAt: string | null, now: string): string | null {
  if (after === "open") return null;
  return before === "open" || closedAt === null ? now : closedAt;
}
