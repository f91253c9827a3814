/**
 * Writing scores: each scoring appends a row to `scores` (the history) and copies it onto the
 * account's current-score columns, in one transaction. Rows travel as one JSON parameter per
 * statement (expanded by SQLite's json_each), each row an array in the table's own column order,
 * so 1,000 scores are one or two statements instead of 200 five-row inserts under D1's
 * 100-parameter limit.
 */
import { getTableColumns, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Assessment } from "../cs/assess";
import { HISTORY_WEEKS, healthOf } from "../cs/trajectory";
import { accounts, scores } from "./schema";
import { D1_MAX_PARAMS, type Db, jsonChunks } from "./write";

/** A score to append: a `scores` row before D1 gives it its id. */
export type ScoreWrite = Omit<typeof scores.$inferInsert, "id">;

/** The D1 row for an assessment (history row; the account's current score follows it). */
export function toScoreWrite(accountId: string, a: Assessment, source: string, scoredAt: string, runId?: string): ScoreWrite {
  const s = a.score;
  return {
    accountId,
    modelVersion: s.modelVersion,
    churnProbability: s.churnProbability,
    health: healthOf(s.churnProbability),
    intervalLow: s.interval[0],
    intervalHigh: s.interval[1],
    confidence: s.confidence,
    riskTier: s.riskTier,
    drivers: s.drivers,
    imputed: s.imputed,
    source,
    runId: runId ?? null,
    scoredAt,
    tier: a.tier,
    expansionProbability: a.expansion.expansionProbability,
    expansionReady: a.expansion.expansionReady,
    expansionSource: a.expansion.source,
    expansionVersion: a.expansion.modelVersion,
    expansionReason: a.expansion.reason,
  };
}

// Every column but `id`, in the table's order: drizzle's insert-select lists every column of the
// table in that order, `id` first (NULL assigns the next one), and the SELECT yields them so.
const COLUMNS = (Object.keys(getTableColumns(scores)) as (keyof typeof scores.$inferInsert)[]).filter((k) => k !== "id");
const SELECT = `SELECT NULL, ${COLUMNS.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(`;

/** A score's values in COLUMNS order, with the defaults D1 would otherwise fill. */
function values(r: ScoreWrite, at: string): unknown[] {
  const row: ScoreWrite = { ...r, scoredAt: r.scoredAt ?? at, tier: r.tier ?? r.riskTier };
  return COLUMNS.map((k) => {
    const v = row[k as keyof ScoreWrite];
    return typeof v === "boolean" ? (v ? 1 : 0) : (v ?? null);
  });
}

/**
 * Statements that append score rows (history is never overwritten) and then copy each
 * account's latest score onto its `accounts` row, in the order given: run them in one batch so
 * the history and the current score never disagree.
 *
 * @example
 *   await runBatch(d, insertScoreStatements(d, [toScoreWrite(id, assessment, "api", new Date().toISOString())]));
 */
export function insertScoreStatements(d: Db, rows: ScoreWrite[]): BatchItem<"sqlite">[] {
  const at = new Date().toISOString();
  const inserts = jsonChunks(rows.map((r) => values(r, at))).map((json) => d.insert(scores).select(sql`${sql.raw(SELECT)}${json})`));
  return [...inserts, ...currentScoreStatements(d, [...new Set(rows.map((r) => r.accountId))])];
}

/** Copies each account's latest score (highest id) onto its `accounts` row. */
export function currentScoreStatements(d: Db, ids: string[]): BatchItem<"sqlite">[] {
  // SQLite evaluates every SET expression against the old row, so each column reads the latest
  // score itself; each lookup is one probe of scores_account_idx (account_id, id).
  const latest = (expr: string) => sql.raw(`(SELECT ${expr} FROM scores s WHERE s.account_id = accounts.id ORDER BY s.id DESC LIMIT 1)`);
  // Only rescoring computes trajectories: a score from the API keeps the last rescoring's trend and actBy.
  const lastTrajectory = (column: string) => sql.raw(`(SELECT s.${column} FROM scores s WHERE s.account_id = accounts.id AND s.trend IS NOT NULL ORDER BY s.id DESC LIMIT 1)`);
  const out: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < ids.length; i += D1_MAX_PARAMS) {
    out.push(
      d
        .update(accounts)
        .set({
          scoreId: latest("s.id"),
          churnProbability: latest("s.churn_probability"),
          riskTier: latest("s.risk_tier"),
          tier: latest("coalesce(s.tier, s.risk_tier)"),
          expansionProbability: latest("s.expansion_probability"),
          scoredAt: latest("s.scored_at"),
          health: latest("s.health"),
          trend: lastTrajectory("trend"),
          actBy: lastTrajectory("act_by"),
        })
        .where(inArray(accounts.id, ids.slice(i, i + D1_MAX_PARAMS))),
    );
  }
  return out;
}

/**
 * A statement that rebuilds every account's weekly health history (`accounts.health_history`:
 * the latest score of each of its newest 26 weeks, oldest first) from its stored scores. For
 * loading a history at once (the SaaS demo); rescoring keeps the history up to date itself.
 */
export function rebuildHealthHistoryStatement(d1: D1Database): D1PreparedStatement {
  return d1.prepare(
    `UPDATE accounts SET health_history = coalesce((
       SELECT json_group_array(json_object('date', d, 'health', h)) FROM (
         SELECT d, h FROM (
           SELECT substr(s.scored_at, 1, 10) AS d, s.health AS h FROM scores s
           WHERE s.account_id = accounts.id AND s.health IS NOT NULL
             AND s.id IN (SELECT max(id) FROM scores WHERE account_id = accounts.id GROUP BY strftime('%Y-%W', scored_at))
           ORDER BY s.scored_at DESC LIMIT ${HISTORY_WEEKS})
         ORDER BY d)), '[]')`,
  );
}
