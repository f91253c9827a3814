/**
 * The D1 handle and batch helpers shared by the Worker and the Node CLIs (which reach the same
 * local D1 through wrangler's platform proxy). D1 allows 100 bound parameters per statement and
 * drizzle does not split multi-row inserts, so rows go out in chunks of ⌊100 / columns⌋ or as
 * one JSON parameter expanded by json_each, all in one atomic batch. Accounts' writes are in
 * accounts.ts, scores' in scores.ts.
 */
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";

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

/** Today's date (UTC) as YYYY-MM-DD: the natural key of a signal snapshot. */
export function today(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

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

/** Runs statements in one D1 batch (a single transaction); no-op when there are none. */
export async function runBatch(d: Db, stmts: BatchItem<"sqlite">[]): Promise<void> {
  if (stmts.length === 0) return;
  await d.batch(stmts as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

/**
 * Drizzle statements as plain D1 statements, so they can share one `d1.batch` (one transaction)
 * with hand-written SQL that drizzle cannot batch (json_each updates with a parameter).
 *
 * @example
 *   await env.DB.batch([...toD1(env.DB, insertScoreStatements(d, rows)), env.DB.prepare("UPDATE ...").bind(json)]);
 */
export function toD1(d1: D1Database, items: BatchItem<"sqlite">[]): D1PreparedStatement[] {
  return items.map((item) => {
    // Every drizzle query builder has toSQL(); BatchItem's type does not say so.
    const { sql, params } = (item as unknown as { toSQL(): { sql: string; params: unknown[] } }).toSQL();
    return d1.prepare(sql).bind(...params);
  });
}
