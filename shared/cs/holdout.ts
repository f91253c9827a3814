/**
 * The randomized holdout's rule, pure, so the Worker (workers/playbooks/holdout.ts, which keeps
 * the D1 side) and the SaaS demo's generator (training/demo/) draw the same arms. When an account
 * newly enters a tier with a playbook it is assigned once: to the control group when sha256 of
 * (salt, account, tier, period) read as a number in [0, 1) is below the holdout share, else to
 * the treated arm. The period is the calendar month of entry (YYYY-MM); the salt is kept in
 * `settings` under SALT_KEY. While a control assignment is live (for its window's days) the
 * account is held out of every playbook.
 */
import { addDays } from "../days";
import type { Arm, PlaybookTier } from "../db/cs-schema";
import { sha256Hex } from "../hash";

/** The `settings` key the installation's holdout salt is stored under (its value a JSON string). */
export const SALT_KEY = "holdout.salt";

/** The calendar month of a day: the holdout's period. */
export function periodOf(day: string): string {
  return day.slice(0, 7);
}

/** The text whose sha256 is the draw: one JSON array, so no separator can make two inputs collide. */
export function holdoutMessage(salt: string, accountId: string, tier: PlaybookTier, period: string): string {
  return JSON.stringify([salt, accountId, tier, period]);
}

/**
 * A sha256 digest (lowercase hex) as the draw: its first 52 bits read as a number in [0, 1), exact
 * in a double. For callers that hash synchronously (the demo's generator, with node:crypto).
 *
 * @example
 *   drawFromDigest(createHash("sha256").update(holdoutMessage(salt, "ACME-1", "red", "2026-12")).digest("hex"));
 */
export function drawFromDigest(hex: string): number {
  return parseInt(hex.slice(0, 13), 16) / 2 ** 52;
}

/**
 * The assignment's draw: sha256 of (salt, account, tier, period), its first 52 bits read as a
 * number in [0, 1). Uniform, and the same for the same inputs on every isolate.
 *
 * @example
 *   await holdoutDraw("9f…", "ACME-1", "red", "2026-12"); // 0.4173…
 */
export async function holdoutDraw(salt: string, accountId: string, tier: PlaybookTier, period: string): Promise<number> {
  return drawFromDigest(await sha256Hex(holdoutMessage(salt, accountId, tier, period)));
}

/** The arm for a draw: control when it is below the share. */
export function armOfDraw(draw: number, share: number): Arm {
  return draw < share ? "control" : "treated";
}

/** The arm for an account entering `tier` in `period`. */
export async function armFor(salt: string, accountId: string, tier: PlaybookTier, period: string, share: number): Promise<Arm> {
  return armOfDraw(await holdoutDraw(salt, accountId, tier, period), share);
}

/** What the holdout's rules read of a recorded assignment. */
export interface AssignmentFacts {
  tier: PlaybookTier;
  period: string;
  arm: Arm;
  assignedAt: string;
  windowDays: number;
}

/** The day an assignment's window ends (the control group is held out before it). */
export function heldUntil(a: Pick<AssignmentFacts, "assignedAt" | "windowDays">): string {
  return addDays(a.assignedAt, a.windowDays);
}

function isLive(a: AssignmentFacts, today: string): boolean {
  return heldUntil(a) > today;
}

/** The account's live control assignment, if any: while there is one it is held out of every playbook. */
export function liveControl<A extends AssignmentFacts>(list: readonly A[], today: string): A | undefined {
  return list.find((a) => a.arm === "control" && isLive(a, today));
}

/** Where an account stands in the holdout for `tier` today. */
export type Standing<A extends AssignmentFacts = AssignmentFacts> = { state: "held-out"; assignment: A } | { state: "assigned"; assignment: A } | { state: "unassigned" };

/**
 * An account's standing from its recorded assignments: held out while any control assignment is
 * live; assigned when one for this tier is live or was made this period; else unassigned (to be
 * assigned now).
 */
export function standing<A extends AssignmentFacts>(list: readonly A[], tier: PlaybookTier, today: string): Standing<A> {
  const control = liveControl(list, today);
  if (control) return { state: "held-out", assignment: control };
  const same = list
    .filter((a) => a.tier === tier && (isLive(a, today) || a.period === periodOf(today)))
    .sort((a, b) => b.assignedAt.localeCompare(a.assignedAt))[0];
  return same ? { state: "assigned", assignment: same } : { state: "unassigned" };
}
