/** `POST /v1/score`: churn probability, tier and drivers for raw signals or a stored account. */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { requireScorer } from "../../model-cache";
import type { AppEnv } from "../auth";
import { invalid } from "../problem";
import { bearer, AccountId, Features, problems, ScoreResult } from "../schemas";
import { assertFeatures, scoreAccount } from "../scoring";

export const ScoreRequest = z
  .strictObject({
    features: Features.optional(),
    accountId: AccountId.optional(),
  })
  .describe("Either `features` (score these signals) or `accountId` (score the stored account and keep the score in its history)");

export class ScoreRoute extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Scoring"],
    summary: "Score one account",
    description:
      "Returns the churn probability, the risk tier under the model's thresholds, signed drivers in your column names (exact SHAP, log-odds) and the features that were imputed. Scoring by `accountId` appends to the account's score history; scoring raw `features` stores nothing.",
    security: bearer,
    request: {
      query: z.object({
        drivers: z
          .union([z.literal("all"), z.coerce.number().int().min(0).max(1000)])
          .optional()
          .describe("How many drivers to return, largest first (default 10), or `all`"),
      }),
      body: contentJson(ScoreRequest),
    },
    responses: {
      "200": { description: "The score", ...contentJson(ScoreResult) },
      ...problems(400, 401, 403, 404, 413, 415, 422, 503),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { body, query } = await this.getValidatedData<typeof this.schema>();
    const maxDrivers = query.drivers === "all" ? Infinity : (query.drivers ?? 10);
    const hasFeatures = body.features !== undefined;
    const hasAccount = body.accountId !== undefined;
    if (hasFeatures === hasAccount) {
      throw invalid("Send exactly one of `features` or `accountId`.", [{ field: hasFeatures ? "accountId" : "features", detail: "send exactly one of features or accountId" }]);
    }
    const scorer = await requireScorer(c.env);
    if (hasAccount) return scoreAccount(c.env, scorer, body.accountId!, maxDrivers);
    assertFeatures(scorer, body.features!, "features");
    return { ...scorer.score(body.features!, maxDrivers), scoredAt: new Date().toISOString() };
  }
}
