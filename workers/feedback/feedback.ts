/**
 * CSM feedback on scores: `POST /v1/accounts/{id}/feedback` records a verdict on the account's
 * current score (copying the score's id, model version, probability and risk tier, so the verdict
 * keeps what it was given on), `GET /v1/accounts/{id}/feedback` lists an account's verdicts.
 * Giving feedback counts as a use of predictive insights by its owner, in the same transaction.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { accounts, feedback, scores } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { loadAccount, notFound } from "../accounts/store";
import { countUseStatement } from "../adoption/usage";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { AccountId, bearer, problems } from "../http/schemas";
import { FeedbackCreate, FeedbackList, Feedback } from "./schemas";

const IdParam = z.object({ id: AccountId });

export class PostFeedback extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Feedback"],
    summary: "Record a CSM's verdict on the account's current score",
    description:
      "Agree, or disagree with an optional expectedTier, on the account's current score; the score's id, model version, churn probability and risk tier are kept with the verdict. expectedTier must differ from the score's tier when disagreeing, and match it (or be left out) when agreeing. An account never scored is a 409. Counts as a use of predictive insights by the owner (default the account's owner). GET /v1/feedback/accuracy reports, once outcomes arrive, how often disagreeing CSMs were right.",
    security: bearer,
    request: { params: IdParam, body: contentJson(FeedbackCreate) },
    responses: { "201": { description: "The stored feedback", ...contentJson(Feedback) }, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    const d = db(c.env.DB);
    const current = await d
      .select({ id: accounts.id, owner: accounts.owner, scoreId: accounts.scoreId, churnProbability: accounts.churnProbability, riskTier: accounts.riskTier, modelVersion: scores.modelVersion })
      .from(accounts)
      .leftJoin(scores, eq(scores.id, accounts.scoreId))
      .where(eq(accounts.id, params.id))
      .get();
    if (!current) throw notFound(params.id, "id");
    if (current.scoreId === null || current.riskTier === null) {
      throw new Problem(409, "account-not-scored", `Account '${params.id}' has no score yet: feedback is given on a score (POST /v1/score with its accountId, or wait for the next rescoring).`, [{ field: "id", detail: "the account has never been scored" }]);
    }
    if (body.expectedTier !== undefined) {
      if (body.verdict === "disagree" && body.expectedTier === current.riskTier) {
        throw invalid("Disagreeing means expecting another tier; nothing was written.", [{ field: "expectedTier", detail: `the score is already ${current.riskTier}: expect another tier, or agree` }]);
      }
      if (body.verdict === "agree" && body.expectedTier !== current.riskTier) {
        throw invalid("Agreeing means expecting the score's tier; nothing was written.", [{ field: "expectedTier", detail: `the score is ${current.riskTier}: agreeing with ${body.expectedTier} is a disagreement` }]);
      }
    }
    const owner = body.owner ?? current.owner;
    const insert = d
      .insert(feedback)
      .values({
        accountId: current.id,
        scoreId: current.scoreId,
        modelVersion: current.modelVersion,
        churnProbability: current.churnProbability,
        riskTier: current.riskTier,
        verdict: body.verdict,
        reason: body.reason,
        expectedTier: body.verdict === "disagree" ? (body.expectedTier ?? null) : null,
        owner,
      })
      .returning();
    const [stored] = owner ? (await d.batch([insert, countUseStatement(d, owner, "feedback")]))[0] : await insert;
    return c.json(stored, 201);
  }
}

export class ListFeedback extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Feedback"],
    summary: "An account's feedback, newest first",
    security: bearer,
    request: { params: IdParam, query: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional().describe("Entries to return, default 100, at most 1,000") }) },
    responses: { "200": { description: "The account's verdicts, newest first", ...contentJson(FeedbackList) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    const [account, rows] = await Promise.all([
      loadAccount(c.env, params.id),
      db(c.env.DB).select().from(feedback).where(eq(feedback.accountId, params.id)).orderBy(desc(feedback.createdAt), desc(feedback.id)).limit(query.limit ?? 100),
    ]);
    if (!account) throw notFound(params.id, "id");
    return { feedback: rows };
  }
}
