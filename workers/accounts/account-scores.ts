/**
 * `GET /v1/accounts/{id}/scores`: an account's score history, newest first, each score with the
 * model version that produced it. Pages by score id (the history is append-only), so scores
 * added between pages never shift the walk.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { and, desc, eq, lt } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { scores } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { AccountId, bearer, problems } from "../http/schemas";
import { ScoreView, toScoreView } from "../scoring/schemas";
import { loadAccount, notFound } from "./store";

export const ScoreHistory = z.object({
  accountId: z.string(),
  scores: z.array(ScoreView).describe("Newest first"),
  nextCursor: z.string().nullable(),
});

export class AccountScores extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "An account's score history, newest first",
    description: "Every score ever stored for the account, each with the model version that produced it. Pages follow `nextCursor`.",
    security: bearer,
    request: {
      params: z.object({ id: AccountId }),
      query: z.object({
        limit: z.coerce.number().int().min(1).max(500).optional().describe("Page size, default 50"),
        cursor: z.string().regex(/^\d+$/, "must be a nextCursor from this API").optional(),
      }),
    },
    responses: { "200": { description: "The history", ...contentJson(ScoreHistory) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    if (!(await loadAccount(c.env, params.id))) throw notFound(params.id, "id");
    const limit = query.limit ?? 50;
    const before = query.cursor ? Number(query.cursor) : Number.MAX_SAFE_INTEGER;
    const rows = await db(c.env.DB)
      .select()
      .from(scores)
      .where(and(eq(scores.accountId, params.id), lt(scores.id, before)))
      .orderBy(desc(scores.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return {
      accountId: params.id,
      scores: page.map(toScoreView),
      nextCursor: rows.length > limit ? String(page[page.length - 1].id) : null,
    };
  }
}
