/** A rescoring run as the API shows it: `RunStarted` when it starts, `RunStatus` while and after it runs. */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { RUN_STATUSES, rescoreRuns } from "../../shared/db/schema";

const runRow = createSelectSchema(rescoreRuns);

export const RunStarted = z.object({
  runId: z.string(),
  status: z.enum(["running", "completed"]),
  accounts: z.number().int(),
  chunks: z.number().int().describe("Queue messages the run fans out into, 1,000 accounts each"),
  modelVersion: z.string(),
  shadowVersion: runRow.shape.shadowVersion,
});
export type RunStarted = z.infer<typeof RunStarted>;

export const RunStatus = runRow
  .pick({ trigger: true, modelVersion: true, shadowVersion: true, createdAt: true, startedAt: true, finishedAt: true, error: true })
  .extend({
    runId: z.string(),
    status: z.enum(RUN_STATUSES),
    trigger: z.string().describe("api, cron or start"),
    accounts: z.number().int().describe("Accounts when the run started"),
    scored: z.number().int(),
    tierChanges: z.number().int(),
    chunks: z.object({ total: z.number().int(), done: z.number().int() }),
    durationMs: z.number().nullable(),
    accountsPerSecond: z.number().nullable(),
  });
