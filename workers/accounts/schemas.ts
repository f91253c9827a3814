/** An account as the API shows it: the `accounts` row's own fields, its signals and its latest score. */
import { createSelectSchema } from "drizzle-zod";
import { accounts } from "../../shared/db/schema";
import { Features } from "../http/schemas";
import { LatestScore } from "../scoring/schemas";

export const Account = createSelectSchema(accounts)
  .pick({ id: true, name: true, arr: true, renewalDate: true, owner: true, createdAt: true, updatedAt: true })
  .extend({ features: Features, score: LatestScore.nullable().describe("The latest score, or null before the first scoring") });
