/**
 * Counting the use of predictive insights: every worklist view, recommendation view, intervention
 * and feedback adds one to its owner's count for the day (`owner_usage`). Nothing is sent anywhere.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ownerUsage, type UsageAction } from "../../shared/db/schema";
import { type Db, db, today } from "../../shared/db/write";

/** The statement that counts one use by `owner` (accounts without an owner are not counted). */
export function countUseStatement(d: Db, owner: string, action: UsageAction, day = today()): BatchItem<"sqlite"> {
  return d
    .insert(ownerUsage)
    .values({ owner, day, action, count: 1 })
    .onConflictDoUpdate({ target: [ownerUsage.owner, ownerUsage.day, ownerUsage.action], set: { count: sql`${ownerUsage.count} + 1` } });
}

/**
 * Counts one use only if the statement just before it in the same `env.DB.batch` changed a row
 * (SQLite's `changes()`): a guarded write that matched nothing (a concurrent edit won) counts nothing.
 * A plain D1 statement, since drizzle cannot batch raw SQL; `toD1` turns drizzle writes into its peers.
 *
 * @example
 *   await env.DB.batch([...toD1(env.DB, [guardedUpdate]), countUseIfChangedStatement(env.DB, owner, "intervention")]);
 */
export function countUseIfChangedStatement(d1: D1Database, owner: string, action: UsageAction, day = today()): D1PreparedStatement {
  // The WHERE clause also keeps SQLite from reading ON CONFLICT as a join constraint of the SELECT.
  return d1
    .prepare(
      `INSERT INTO owner_usage (owner, day, action, count) SELECT ?1, ?2, ?3, 1 WHERE changes() > 0
       ON CONFLICT (owner, day, action) DO UPDATE SET count = count + 1`,
    )
    .bind(owner, day, action);
}

/** Counts one use now; a null owner counts nothing. */
export async function countUse(env: Env, owner: string | null | undefined, action: UsageAction, day = today()): Promise<void> {
  if (!owner) return;
  const d = db(env.DB);
  await countUseStatement(d, owner, action, day);
}
