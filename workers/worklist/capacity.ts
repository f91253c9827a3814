/** Each owner's weekly capacity: their own setting in `owners`, else `WORKLIST_CAPACITY`. */
import { owners } from "../../shared/db/schema";
import { db } from "../../shared/db/write";

/** The capacity every owner has until one is set (the wrangler var, 10 if unset or not a whole number ≥ 1). */
export function defaultCapacity(env: Pick<Env, "WORKLIST_CAPACITY">): number {
  const n = Number(env.WORKLIST_CAPACITY);
  return Number.isInteger(n) && n >= 1 ? n : 10;
}

/** Every owner's own setting, by owner. */
export async function ownerCapacities(env: Pick<Env, "DB">): Promise<Map<string, number>> {
  const rows = await db(env.DB).select({ owner: owners.owner, capacity: owners.capacity }).from(owners);
  return new Map(rows.map((r) => [r.owner, r.capacity]));
}
