/** `POST /v1/outcomes`: what happened to accounts (churned, renewed, expanded), idempotent by account, type and date. */
import { contentJson, OpenAPIRoute } from "chanfana";
import { inArray, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { accounts, OUTCOME_TYPES, outcomes } from "../../shared/db/schema";
import { chunkForInsert, db, runBatch } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { AccountId, bearer, IsoDate, problems } from "../http/schemas";
import { MAX_BATCH } from "./accounts";

export const Outcome = z.strictObject({
  accountId: AccountId,
  type: z.enum(OUTCOME_TYPES),
  date: IsoDate.describe("When it happened (YYYY-MM-DD)"),
  amount: z.number().nullable().optional().describe("ARR lost, renewed or added"),
  note: z.string().max(2000).nullable().optional(),
});

/** A single outcome, or `{ "outcomes": [...] }` with up to 1,000. */
export const OutcomesBody = z.preprocess(
  (b) => (b && typeof b === "object" && !Array.isArray(b) && !("outcomes" in b) ? { outcomes: [b] } : b),
  z.strictObject({ outcomes: z.array(Outcome).min(1).max(MAX_BATCH, `at most ${MAX_BATCH} outcomes per request`) }),
);

export class RecordOutcomes extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "Record churned, renewed or expanded events",
    description:
      "Takes one outcome or `{outcomes: [...]}`. Idempotent by (accountId, type, date): sending it again updates amount and note. Every account must exist; otherwise nothing is written and errors[] names the rows.",
    security: bearer,
    request: { body: contentJson(OutcomesBody) },
    responses: {
      "200": { description: "Recorded", ...contentJson(z.object({ recorded: z.number() })) },
      ...problems(400, 401, 403, 413, 415, 422),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const rows = body.outcomes;
    const d = db(c.env.DB);
    const ids = [...new Set(rows.map((r) => r.accountId))];
    const known = new Set<string>();
    for (const chunk of chunkForInsert(ids, 1)) {
      for (const r of await d.select({ id: accounts.id }).from(accounts).where(inArray(accounts.id, chunk))) known.add(r.id);
    }
    const errors = rows.flatMap((r, i) => (known.has(r.accountId) ? [] : [{ field: `outcomes[${i}].accountId`, detail: `no account '${r.accountId}'` }]));
    if (errors.length) throw invalid("Outcomes name unknown accounts; nothing was written.", errors);
    await runBatch(
      d,
      chunkForInsert(rows, 5).map((chunk) =>
        d
          .insert(outcomes)
          .values(chunk.map((r) => ({ accountId: r.accountId, type: r.type, date: r.date, amount: r.amount ?? null, note: r.note ?? null })))
          .onConflictDoUpdate({
            target: [outcomes.accountId, outcomes.type, outcomes.date],
            set: { amount: sql`excluded.amount`, note: sql`excluded.note` },
          }),
      ),
    );
    return { recorded: rows.length };
  }
}
