/** Reading stored accounts, for every concept that works on one. */
import { eq } from "drizzle-orm";
import { accounts } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { Problem } from "../http/problem";

/** The stored account, or undefined. */
export async function loadAccount(env: Env, id: string): Promise<typeof accounts.$inferSelect | undefined> {
  return db(env.DB).select().from(accounts).where(eq(accounts.id, id)).get();
}

/** The 404 for an unknown account id, naming the field that carried it. */
export function notFound(id: string, field = "accountId"): Problem {
  return new Problem(404, "account-not-found", `No account with id '${id}'.`, [{ field, detail: "no such account" }]);
}
