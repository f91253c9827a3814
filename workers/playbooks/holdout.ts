/**
 * The randomized holdout. When an account newly enters a tier with a playbook (red, yellow, blue)
 * it is assigned once: to the control group when sha256(salt, account, tier, period) read as a
 * number in [0, 1) is below HOLDOUT_SHARE, else to the treated arm. The period is the calendar
 * month of entry (YYYY-MM); the salt is generated once per installation and kept in `settings`.
 * The row is written with ON CONFLICT DO NOTHING and never changed: the stored row is the truth,
 * whatever HOLDOUT_SHARE says later.
 *
 * While a control assignment is live (for HOLDOUT_WINDOW_DAYS after it was made) the account is
 * held out of every playbook: no recommendation, no `account.playbook_recommended`, and no new
 * assignment for another tier. An account still in a tier after its assignment's window closed is
 * assigned afresh, for the new period, the next time it is looked at.
 */
import { eq } from "drizzle-orm";
import { armFor, periodOf, SALT_KEY, type Standing as SharedStanding } from "../../shared/cs/holdout";
import { holdoutAssignments, settings } from "../../shared/db/schema";
import { fromSql } from "../../shared/db/rows";
import { db, jsonChunks } from "../../shared/db/write";

// The draw, the period, the arm rule and the standing are pure and shared with the SaaS demo's generator.
export { armFor, heldUntil, holdoutDraw, liveControl, periodOf, SALT_KEY, standing } from "../../shared/cs/holdout";

export type StoredAssignment = typeof holdoutAssignments.$inferSelect;

export interface HoldoutConfig {
  /** The share of entering accounts held out, 0–1 (HOLDOUT_SHARE, default 0.1). */
  share: number;
  /** Days an assignment's window lasts (HOLDOUT_WINDOW_DAYS, default 90). */
  windowDays: number;
}

/** The holdout's settings from the environment; a value that is not a share or a day count throws, naming the var. */
export function holdoutConfig(env: { HOLDOUT_SHARE?: string; HOLDOUT_WINDOW_DAYS?: string }): HoldoutConfig {
  const share = Number(env.HOLDOUT_SHARE ?? "0.1");
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new Error(`HOLDOUT_SHARE must be a share from 0 to 1, got '${env.HOLDOUT_SHARE}'`);
  const windowDays = Number(env.HOLDOUT_WINDOW_DAYS ?? "90");
  if (!Number.isInteger(windowDays) || windowDays < 1 || windowDays > 3650) throw new Error(`HOLDOUT_WINDOW_DAYS must be a whole number of days from 1 to 3650, got '${env.HOLDOUT_WINDOW_DAYS}'`);
  return { share, windowDays };
}

/**
 * The installation's holdout salt: generated the first time it is needed and stored in
 * `settings`; read back after the insert, so isolates that race each other agree on one.
 */
export async function holdoutSalt(env: Pick<Env, "DB">): Promise<string> {
  const d = db(env.DB);
  const fresh = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const [, rows] = await d.batch([
    d.insert(settings).values({ key: SALT_KEY, value: fresh }).onConflictDoNothing(),
    d.select({ value: settings.value }).from(settings).where(eq(settings.key, SALT_KEY)),
  ]);
  return String(rows[0].value);
}

/** An account's standing in the holdout for one tier (the rule is in shared/cs/holdout.ts). */
export type Standing = SharedStanding<StoredAssignment>;

/** An assignment to record. `scoreId` null with `runId`: the score that run writes for the account in the same batch. */
export type NewAssignment = Omit<StoredAssignment, "scoreId"> & { scoreId: number | null; runId?: string };

/**
 * A new assignment for an account entering `tier` today, its arm drawn from the salt.
 *
 * @example
 *   await newAssignment(salt, config, { accountId: "ACME-1", tier: "red", ... }, "2026-12-01");
 */
export async function newAssignment(
  salt: string,
  config: HoldoutConfig,
  facts: Pick<StoredAssignment, "accountId" | "tier" | "playbookId" | "playbookVersion" | "owner" | "arr" | "churnProbability"> & { scoreId: number | null; runId?: string },
  assignedAt: string,
): Promise<NewAssignment> {
  const period = periodOf(assignedAt);
  const arm = await armFor(salt, facts.accountId, facts.tier, period, config.share);
  return { ...facts, period, arm, windowDays: config.windowDays, assignedAt };
}

/**
 * Statements that record assignments, ignoring any whose (account, tier, period) is already
 * recorded: run them in the batch that makes the change they describe.
 */
export function assignmentStatements(d1: D1Database, rows: readonly NewAssignment[]): D1PreparedStatement[] {
  return jsonChunks(
    rows.map((r) => ({ a: r.accountId, t: r.tier, p: r.period, m: r.arm, pi: r.playbookId, pv: r.playbookVersion, o: r.owner, r: r.arr, c: r.churnProbability, s: r.scoreId, run: r.runId ?? null, w: r.windowDays, at: r.assignedAt })),
  ).map((json) =>
    d1
      .prepare(
        `INSERT INTO holdout_assignments (account_id, tier, period, arm, playbook_id, playbook_version, owner, arr, churn_probability, score_id, window_days, assigned_at)
         SELECT json_extract(value, '$.a'), json_extract(value, '$.t'), json_extract(value, '$.p'), json_extract(value, '$.m'), json_extract(value, '$.pi'), json_extract(value, '$.pv'),
           json_extract(value, '$.o'), json_extract(value, '$.r'), json_extract(value, '$.c'),
           coalesce(json_extract(value, '$.s'), (SELECT s.id FROM scores s WHERE s.run_id = json_extract(value, '$.run') AND s.account_id = json_extract(value, '$.a'))),
           json_extract(value, '$.w'), json_extract(value, '$.at')
         FROM json_each(?1) WHERE true
         ON CONFLICT DO NOTHING`,
      )
      .bind(json),
  );
}

const RELEVANT = `(period = ?2 OR date(substr(assigned_at, 1, 10), '+' || window_days || ' days') > ?3)`;

/**
 * The assignments that bear on today (live, or made this period) of the accounts with ids in
 * [from, to) (to null: to the end), or of the listed ids; by account.
 */
export async function assignmentsOf(d1: D1Database, accounts: { from: string; to: string | null } | readonly string[], today: string): Promise<Map<string, StoredAssignment[]>> {
  const stmt =
    "from" in accounts
      ? d1
          .prepare(`SELECT * FROM holdout_assignments WHERE account_id >= ?1 ${accounts.to === null ? "" : "AND account_id < ?4"} AND ${RELEVANT}`)
          .bind(accounts.from, periodOf(today), today, ...(accounts.to === null ? [] : [accounts.to]))
      : d1.prepare(`SELECT * FROM holdout_assignments WHERE account_id IN (SELECT value FROM json_each(?1)) AND ${RELEVANT}`).bind(JSON.stringify(accounts), periodOf(today), today);
  const { results } = await stmt.all<Record<string, unknown>>();
  const out = new Map<string, StoredAssignment[]>();
  for (const r of results) {
    const a = fromSql(holdoutAssignments, r)!;
    out.set(a.accountId, [...(out.get(a.accountId) ?? []), a]);
  }
  return out;
}
