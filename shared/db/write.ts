/**
 * Write helpers shared by the Worker and the Node CLIs (which reach the same local D1 through
 * wrangler's platform proxy). D1 allows 100 bound parameters per statement and drizzle does not
 * split multi-row inserts, so rows go out in chunks of ⌊100 / columns⌋, all in one atomic batch.
 */
import { inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { Assessment } from "../model/assess";
import { accounts, scores, signalSnapshots, type Signals } from "./schema";

export type Db = DrizzleD1Database;

export function db(d1: D1Database): Db {
  return drizzle(d1);
}

/** D1's limit on bound parameters in one statement. */
export const D1_MAX_PARAMS = 100;

/**
 * Splits rows so each multi-row statement stays within D1's bound-parameter limit, leaving room
 * for `reserved` parameters the statement binds once (e.g. a date shared by every row).
 */
export function chunkForInsert<T>(rows: T[], columns: number, reserved = 0): T[][] {
  const size = Math.max(1, Math.floor((D1_MAX_PARAMS - reserved) / columns));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

export interface AccountWrite {
  id: string;
  name?: string | null;
  arr?: number | null;
  renewalDate?: string | null;
  owner?: string | null;
  features: Signals;
}

/** Today's date (UTC) as YYYY-MM-DD: the natural key of a signal snapshot. */
export function today(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * Statements that upsert accounts (replacing their signals) and record the day's snapshot.
 * Fields left undefined keep their stored values; idempotent by account id and day.
 */
export function upsertAccountStatements(d: Db, rows: AccountWrite[], asOf = today()): BatchItem<"sqlite">[] {
  const stmts: BatchItem<"sqlite">[] = [];
  const stamp = new Date().toISOString();
  for (const chunk of chunkForInsert(rows, 8)) {
    stmts.push(
      d
        .insert(accounts)
        .values(
          chunk.map((r) => ({
            id: r.id,
            name: r.name ?? null,
            arr: r.arr ?? null,
            renewalDate: r.renewalDate ?? null,
            owner: r.owner ?? null,
            features: r.features,
            createdAt: stamp,
            updatedAt: stamp,
          })),
        )
        .onConflictDoUpdate({
          target: accounts.id,
          set: {
            // Only fields the caller sent replace stored ones: excluded.* is NULL when not sent.
            name: sql`coalesce(excluded.name, ${accounts.name})`,
            arr: sql`coalesce(excluded.arr, ${accounts.arr})`,
            renewalDate: sql`coalesce(excluded.renewal_date, ${accounts.renewalDate})`,
            owner: sql`coalesce(excluded.owner, ${accounts.owner})`,
            features: sql`excluded.features`,
            updatedAt: sql`excluded.updated_at`,
          },
        }),
    );
  }
  stmts.push(...snapshotStatements(d, rows.map((r) => r.id), asOf));
  return stmts;
}

/**
 * The same upsert as `upsertAccountStatements` for large loads: rows travel as one JSON parameter
 * per statement (expanded by json_each), so thousands of accounts are a few statements instead
 * of one per 12 rows. `snapshots: false` leaves signal_snapshots alone (add them with
 * `bulkSnapshotStatements`). Plain D1 statements (drizzle cannot batch raw SQL with parameters):
 * run them with `d1.batch`, one transaction.
 *
 * @example
 *   await env.DB.batch(bulkUpsertAccountStatements(env.DB, rows));
 */
export function bulkUpsertAccountStatements(d1: D1Database, rows: AccountWrite[], opts: { asOf?: string; snapshots?: boolean } = {}): D1PreparedStatement[] {
  const stamp = new Date().toISOString();
  const payload = rows.map((r) => ({ i: r.id, n: r.name ?? null, a: r.arr ?? null, r: r.renewalDate ?? null, o: r.owner ?? null, f: r.features }));
  const stmts = jsonChunks(payload).map((json) =>
    d1
      .prepare(
        `INSERT INTO accounts (id, name, arr, renewal_date, owner, features, created_at, updated_at)
         SELECT json_extract(value, '$.i'), json_extract(value, '$.n'), json_extract(value, '$.a'), json_extract(value, '$.r'), json_extract(value, '$.o'), json_extract(value, '$.f'), ?2, ?2
         FROM json_each(?1) WHERE true
         ON CONFLICT (id) DO UPDATE SET name = coalesce(excluded.name, accounts.name), arr = coalesce(excluded.arr, accounts.arr),
           renewal_date = coalesce(excluded.renewal_date, accounts.renewal_date), owner = coalesce(excluded.owner, accounts.owner),
           features = excluded.features, updated_at = excluded.updated_at`,
      )
      .bind(json, stamp),
  );
  if (opts.snapshots !== false) stmts.push(...bulkSnapshotStatements(d1, rows.map((r) => r.id), opts.asOf));
  return stmts;
}

/** `snapshotStatements` for large loads: the ids travel as JSON arrays of up to 20,000. */
export function bulkSnapshotStatements(d1: D1Database, ids: string[], asOf = today()): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < ids.length; i += 20_000) {
    out.push(
      d1
        .prepare(
          `INSERT INTO signal_snapshots (account_id, as_of, features, recorded_at)
           SELECT id, ?2, features, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM accounts WHERE id IN (SELECT value FROM json_each(?1))
           ON CONFLICT (account_id, as_of) DO UPDATE SET features = excluded.features, recorded_at = excluded.recorded_at`,
        )
        .bind(JSON.stringify(ids.slice(i, i + 20_000)), asOf),
    );
  }
  return out;
}

/** Records (or refreshes) today's snapshot of each account's current signals. */
export function snapshotStatements(d: Db, ids: string[], asOf = today()): BatchItem<"sqlite">[] {
  const stmts: BatchItem<"sqlite">[] = [];
  for (const chunk of chunkForInsert(ids, 1, 1)) {
    stmts.push(
      d
        .insert(signalSnapshots)
        .select(
          d
            .select({ accountId: accounts.id, asOf: sql`${asOf}`.as("as_of"), features: accounts.features, recordedAt: sql`strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`.as("recorded_at") })
            .from(accounts)
            .where(inArray(accounts.id, chunk)),
        )
        .onConflictDoUpdate({
          target: [signalSnapshots.accountId, signalSnapshots.asOf],
          set: { features: sql`excluded.features`, recordedAt: sql`excluded.recorded_at` },
        }),
    );
  }
  return stmts;
}

export interface ScoreWrite {
  accountId: string;
  modelVersion: string;
  churnProbability: number;
  intervalLow?: number | null;
  intervalHigh?: number | null;
  confidence?: string | null;
  riskTier: string;
  drivers: unknown[];
  imputed: string[];
  source: string;
  runId?: string | null;
  scoredAt?: string;
  tier?: string | null;
  expansionProbability?: number | null;
  expansionReady?: boolean | null;
  expansionSource?: string | null;
  expansionVersion?: string | null;
  expansionReason?: string | null;
}

/** The D1 row for an assessment (history row; the account's current score follows it). */
export function toScoreWrite(accountId: string, a: Assessment, source: string, scoredAt: string, runId?: string): ScoreWrite {
  const s = a.score;
  return {
    accountId,
    modelVersion: s.modelVersion,
    churnProbability: s.churnProbability,
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

const SCORE_COLUMNS = 18;

/** Largest JSON payload bound to one bulk statement (D1 allows 2 MB per value). */
const MAX_JSON_PARAM = 800_000;

/** Splits rows into runs whose JSON encodings stay under `limit` characters; returns the texts. */
export function jsonChunks(rows: unknown[], limit = MAX_JSON_PARAM): string[] {
  const out: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const r of rows) {
    const text = JSON.stringify(r);
    if (parts.length && size + text.length + 1 > limit) {
      out.push(`[${parts.join(",")}]`);
      parts = [];
      size = 2;
    }
    parts.push(text);
    size += text.length + 1;
  }
  if (parts.length) out.push(`[${parts.join(",")}]`);
  return out;
}

// Score columns and the short JSON keys they travel under in a bulk insert.
const SCORE_FIELDS: [column: string, key: string][] = [
  ["account_id", "a"],
  ["model_version", "m"],
  ["churn_probability", "p"],
  ["interval_low", "lo"],
  ["interval_high", "hi"],
  ["confidence", "c"],
  ["risk_tier", "r"],
  ["drivers", "d"],
  ["imputed", "i"],
  ["source", "s"],
  ["run_id", "u"],
  ["scored_at", "t"],
  ["tier", "g"],
  ["expansion_probability", "ep"],
  ["expansion_ready", "er"],
  ["expansion_source", "es"],
  ["expansion_version", "ev"],
  ["expansion_reason", "ex"],
];

// drizzle's insert-select lists every column of the table in order, `id` first (NULL assigns the
// next one); the SELECT below yields them in that order.
const SCORE_SELECT = `SELECT NULL, ${SCORE_FIELDS.map(([, k]) => `json_extract(value, '$.${k}')`).join(", ")} FROM json_each(`;

/**
 * Statements that append score rows (history is never overwritten) and then copy each
 * account's latest score onto its `accounts` row, in the order given: run them in one batch so
 * the history and the current score never disagree. Rows travel as one JSON parameter per
 * statement (expanded by SQLite's json_each), so 1,000 scores are one or two statements instead
 * of 200 five-row inserts under D1's 100-parameter limit.
 */
export function insertScoreStatements(d: Db, rows: ScoreWrite[]): BatchItem<"sqlite">[] {
  const at = new Date().toISOString();
  const payload = rows.map((r) => ({
    a: r.accountId,
    m: r.modelVersion,
    p: r.churnProbability,
    lo: r.intervalLow ?? null,
    hi: r.intervalHigh ?? null,
    c: r.confidence ?? null,
    r: r.riskTier,
    d: r.drivers,
    i: r.imputed,
    s: r.source,
    u: r.runId ?? null,
    t: r.scoredAt ?? at,
    g: r.tier ?? r.riskTier,
    ep: r.expansionProbability ?? null,
    er: r.expansionReady == null ? null : r.expansionReady ? 1 : 0,
    es: r.expansionSource ?? null,
    ev: r.expansionVersion ?? null,
    ex: r.expansionReason ?? null,
  }));
  const inserts = jsonChunks(payload).map((json) => d.insert(scores).select(sql`${sql.raw(SCORE_SELECT)}${json})`));
  return [...inserts, ...currentScoreStatements(d, [...new Set(rows.map((r) => r.accountId))])];
}

/** Copies each account's latest score (highest id) onto its `accounts` row. */
export function currentScoreStatements(d: Db, ids: string[]): BatchItem<"sqlite">[] {
  // SQLite evaluates every SET expression against the old row, so each column reads the latest
  // score itself; each lookup is one probe of scores_account_idx (account_id, id).
  const latest = (expr: string) => sql.raw(`(SELECT ${expr} FROM scores s WHERE s.account_id = accounts.id ORDER BY s.id DESC LIMIT 1)`);
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
        })
        .where(inArray(accounts.id, ids.slice(i, i + D1_MAX_PARAMS))),
    );
  }
  return out;
}

/** Runs statements in one D1 batch (a single transaction); no-op when there are none. */
export async function runBatch(d: Db, stmts: BatchItem<"sqlite">[]): Promise<void> {
  if (stmts.length === 0) return;
  await d.batch(stmts as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}
