/** Column defaults every table uses. */
import { sql } from "drizzle-orm";

/** The insert time as an ISO timestamp with milliseconds, in UTC. */
export const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;
