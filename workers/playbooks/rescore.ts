/**
 * What rescoring does for playbooks: each chunk loads the current playbooks and its accounts'
 * holdout assignments once; each rescored account gets the matched playbook's lead days for its
 * trajectory; an account whose portfolio tier changes into red, yellow or blue is assigned to the
 * treated arm or the control group (written in the chunk's batch with its score), and a treated one
 * gets `account.playbook_recommended`. Control accounts get no event.
 */
import type { Assessment } from "../../shared/cs/assess";
import { addDays } from "../../shared/days";
import type { accounts } from "../../shared/db/schema";
import type { SqlPick } from "../../shared/db/rows";
import type { Trajectory } from "../trajectories/trajectory";
import { eventId, type NewEvent } from "../webhooks/outbox";
import { assignmentsOf, type HoldoutConfig, holdoutConfig, holdoutSalt, liveControl, type NewAssignment, newAssignment, standing, type StoredAssignment } from "./holdout";
import { isPlaybookTier, type Match, matchPlaybook } from "./policy";
import { currentPlaybooks, type PlaybookRow } from "./store";

/** What a chunk reads once for playbooks. */
export interface ChunkPlaybooks {
  env: Env;
  today: string;
  playbooks: PlaybookRow[];
  config: HoldoutConfig;
  assignments: Map<string, StoredAssignment[]>;
  salt?: string;
}

/** The current playbooks and the assignments bearing on today of the accounts in [from, to). */
export async function chunkPlaybooks(env: Env, from: string, to: string | null, today: string): Promise<ChunkPlaybooks> {
  const [playbooks, assignments] = await Promise.all([currentPlaybooks(env), assignmentsOf(env.DB, { from, to }, today)]);
  return { env, today, playbooks, config: holdoutConfig(env), assignments };
}

/** The playbook for a just-assessed account: its portfolio tier and its new score's top driver. */
export function matchFor(ctx: ChunkPlaybooks, result: Assessment): Match<PlaybookRow> {
  return matchPlaybook(ctx.playbooks, result.tier, result.score.drivers);
}

/** The account columns this reads: the previous tier is what tells an entry. */
export type EntryColumns = SqlPick<typeof accounts, "id" | "name" | "arr" | "owner" | "tier">;

/**
 * The assignment and event for an account rescored into `result`: none unless its portfolio tier
 * changed into a tier with a playbook. Held-out accounts (a live control assignment) get neither;
 * an account with an assignment for the tier this period (or one still live) keeps it; otherwise it
 * is assigned now. A treated account that had a tier before gets `account.playbook_recommended`
 * (a first score is not an entry to announce, as with the other events).
 */
export async function playbookEntry(
  ctx: ChunkPlaybooks,
  a: EntryColumns,
  result: Assessment,
  match: Match<PlaybookRow>,
  trajectory: Trajectory,
  runId: string,
  assignedAt: string,
): Promise<{ assignments: NewAssignment[]; events: NewEvent[] }> {
  const tier = result.tier;
  const playbook = match.playbook;
  if (a.tier === tier || !isPlaybookTier(tier) || !playbook) return { assignments: [], events: [] };
  const s = standing(ctx.assignments.get(a.id) ?? [], tier, ctx.today);
  if (s.state === "held-out") return { assignments: [], events: [] };
  const assignments: NewAssignment[] = [];
  let arm = s.state === "assigned" ? s.assignment.arm : null;
  if (s.state === "unassigned") {
    ctx.salt ??= await holdoutSalt(ctx.env);
    const fresh = await newAssignment(
      ctx.salt,
      ctx.config,
      { accountId: a.id, tier, playbookId: playbook.id, playbookVersion: playbook.version, owner: a.owner, arr: a.arr, churnProbability: result.score.churnProbability, scoreId: null, runId },
      assignedAt,
    );
    assignments.push(fresh);
    arm = fresh.arm;
  }
  // A control assignment that is no longer live (a window shorter than the month) holds nothing back.
  const heldBack = arm === "control" && s.state === "unassigned";
  if (heldBack || a.tier === null) return { assignments, events: [] };
  const steps = playbook.steps.map((st) => ({ title: st.title, dueDate: addDays(ctx.today, st.dueDays), dueDays: st.dueDays }));
  const when = trajectory.actBy ? `act by ${trajectory.actBy}: ${trajectory.reasons[0]}` : `nothing is due yet: ${trajectory.reasons[0]}`;
  const event: NewEvent = {
    id: await eventId(runId, a.id, "account.playbook_recommended"),
    type: "account.playbook_recommended",
    accountId: a.id,
    runId,
    modelVersion: result.score.modelVersion,
    payload: {
      account: { id: a.id, name: a.name, arr: a.arr, owner: a.owner },
      previousTier: a.tier,
      tier,
      churnProbability: result.score.churnProbability,
      playbook: { id: playbook.id, version: playbook.version, name: playbook.name, driver: playbook.driver, leadDays: playbook.leadDays },
      actBy: trajectory.actBy,
      steps,
      reasons: [...match.reasons, when],
      runId,
    },
  };
  return { assignments, events: [event] };
}

/**
 * Whether the holdout holds the account out as of this rescoring: a live control assignment, or one
 * made just now. Its other events then carry no next action, so no playbook reaches its CSM by
 * another door.
 */
export function heldOutNow(ctx: ChunkPlaybooks, accountId: string, fresh: readonly NewAssignment[]): boolean {
  return fresh.some((f) => f.accountId === accountId && f.arm === "control") || liveControl(ctx.assignments.get(accountId) ?? [], ctx.today) !== undefined;
}
