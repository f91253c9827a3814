/**
 * Writing accounts and their signal snapshots: upserts (fields left out keep their stored
 * values) and the day's snapshot of each account's signals, idempotent by account id and day;
 * for loading history in bulk, snapshots of given signals on given days and outcomes.
 */
import { inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { accounts, type OutcomeType, type Signals, signalSnapshots } from "./schema";
import { chunkForInsert, type Db, jsonChunks, today } from "./write";

/** An account to write: its id, signals and any of its CS fields (absent ones keep their stored values). */
export type AccountWrite = Pick<typeof accounts.$inferInsert, "id" | "name" | "arr" | "renewalDate" | "owner"> & Required<Pick<typeof accounts.$inferInsert, "features">>;

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

/** A snapshot to load as history: an account's signals as they stood on `asOf` (YYYY-MM-DD). */
export interface DatedSnapshot {
  accountId: string;
  asOf: string;
  features: Signals;
}

/**
 * Statements that write snapshots of the given signals on the given days (history loaded from
 * elsewhere, unlike `bulkSnapshotStatements`, which copies the accounts' current signals on one
 * day), as JSON parameters expanded by json_each; idempotent by account id and day.
 *
 * @example
 *   await env.DB.batch(bulkDatedSnapshotStatements(env.DB, [{ accountId: "A-1", asOf: "2026-01-05", features: { logins_30d: 12 } }]));
 */
export function bulkDatedSnapshotStatements(d1: D1Database, rows: DatedSnapshot[]): D1PreparedStatement[] {
  return jsonChunks(rows.map((r) => [r.accountId, r.asOf, r.features])).map((json) =>
    d1
      .prepare(
        `INSERT INTO signal_snapshots (account_id, as_of, features, recorded_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         FROM json_each(?1) WHERE true
         ON CONFLICT (account_id, as_of) DO UPDATE SET features = excluded.features, recorded_at = excluded.recorded_at`,
      )
      .bind(json),
  );
}

/** An outcome to load: what happened to an account on a day (see `outcomes` in schema.ts). */
export interface OutcomeWrite {
  accountId: string;
  type: OutcomeType;
  date: string;
  amount?: number | null;
  note?: string | null;
}

/**
 * Statements that record outcomes in bulk, idempotent by account, type and date (as
 * `POST /v1/outcomes`: sending one again updates its amount and note). The accounts must exist.
 *
 * @example
 *   await env.DB.batch(bulkOutcomeStatements(env.DB, [{ accountId: "A-1", type: "churned", date: "2026-03-01" }]));
 */
export function bulkOutcomeStatements(d1: D1Database, rows: OutcomeWrite[]): D1PreparedStatement[] {
  return jsonChunks(rows.map((r) => [r.accountId, r.type, r.date, r.amount ?? null, r.note ?? null])).map((json) =>
    d1
      .prepare(
        `INSERT INTO outcomes (account_id, type, date, amount, note)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]')
         FROM json_each(?1) WHERE true
         ON CONFLICT (account_id, type, date) DO UPDATE SET amount = excluded.amount, note = excluded.note`,
      )
      .bind(json),
  );
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
