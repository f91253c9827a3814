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

/** Counts one use now; a null owner counts nothing. */
export async function countUse(env: Env, owner: string | null | undefined, action: UsageAction, day = today()): Promise<void> {
  if (!owner) return;
  const d = db(env.DB);
  await countUseStatement(d, owner, action, day);
}
