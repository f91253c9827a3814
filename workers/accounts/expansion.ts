/**
 * `GET /v1/accounts/{id}/expansion`: the small answer an in-app banner needs. Callable from
 * browsers (CORS for the configured origins) with a publishable `banner`-scope key, cached by
 * ETag and Cache-Control.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { cors } from "hono/cors";
import { z } from "zod";
import { assess } from "../../shared/cs/assess";
import { sha256Hex } from "../../shared/hash";
import { requireModels } from "../scoring/model-cache";
import type { AppEnv } from "../http/auth";
import type { SqlPick, SqlRow } from "../../shared/db/rows";
import type { accounts, scores } from "../../shared/db/schema";
import { AccountId, bearer, problems } from "../http/schemas";
import { notFound } from "./store";

/** Browsers may reuse an answer this long without asking; after that, If-None-Match makes it a 304. */
export const EXPANSION_MAX_AGE = 60;

export const ExpansionAnswer = z.object({
  accountId: z.string(),
  expansionReady: z.boolean(),
  expansionProbability: z.number(),
  reason: z.string(),
  source: z.enum(["model", "scorecard"]).describe("scorecard until `expanded` outcomes have trained an expansion model"),
  scoredAt: z.string().describe("When the answer was computed: the account's latest score, or now if its signals changed since"),
});

/** CORS for the banner route: origins from BANNER_ORIGINS ("*" or a comma-separated list). */
export function bannerCors() {
  return cors({
    origin: (origin, c) => {
      const allowed = String((c.env as Env).BANNER_ORIGINS ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (allowed.includes("*")) return origin || "*";
      return allowed.includes(origin) ? origin : null;
    },
    allowMethods: ["GET", "OPTIONS"],
    allowHeaders: ["authorization", "if-none-match"],
    exposeHeaders: ["etag", "cache-control"],
    maxAge: 86400,
  });
}

/** The account's signals with its current score's expansion columns (null before the first score). */
type Row = SqlPick<typeof accounts, "features" | "updated_at"> & {
  [K in "expansion_probability" | "expansion_ready" | "expansion_reason" | "expansion_source" | "scored_at"]: SqlRow<typeof scores>[K] | null;
};

export class AccountExpansion extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Expansion"],
    summary: "Is the account ready for an expansion offer?",
    description: `For in-app banners. Answers from the account's latest score, or scores it afresh (without storing) if its signals changed since. A key with only the \`banner\` scope may call this route and nothing else, so it is safe to publish in a page. Responses carry an ETag (send If-None-Match for a 304) and \`Cache-Control: private, max-age=${EXPANSION_MAX_AGE}\`; browsers on origins listed in BANNER_ORIGINS may call it (CORS).`,
    security: bearer,
    request: { params: z.object({ id: AccountId }) },
    responses: {
      "200": { description: "The answer", ...contentJson(ExpansionAnswer) },
      "304": { description: "Unchanged since the ETag sent in If-None-Match" },
      ...problems(401, 403, 404, 429, 503),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const row = await c.env.DB.prepare(
      `SELECT a.features, a.updated_at, s.expansion_probability, s.expansion_ready, s.expansion_reason, s.expansion_source, s.scored_at
       FROM accounts a LEFT JOIN scores s ON s.id = a.score_id WHERE a.id = ?1`,
    )
      .bind(params.id)
      .first<Row>();
    if (!row) throw notFound(params.id, "id");
    let answer: z.infer<typeof ExpansionAnswer>;
    if (row.expansion_probability !== null && row.scored_at !== null && row.scored_at >= row.updated_at) {
      answer = {
        accountId: params.id,
        expansionReady: row.expansion_ready === 1,
        expansionProbability: row.expansion_probability,
        reason: row.expansion_reason ?? "",
        source: (row.expansion_source ?? "scorecard") as "model" | "scorecard",
        scoredAt: row.scored_at,
      };
    } else {
      const a = assess(await requireModels(c.env), JSON.parse(row.features) as Record<string, never>, 0);
      answer = {
        accountId: params.id,
        expansionReady: a.expansion.expansionReady,
        expansionProbability: a.expansion.expansionProbability,
        reason: a.expansion.reason,
        source: a.expansion.source,
        scoredAt: new Date().toISOString(),
      };
    }
    const { scoredAt: _at, ...stable } = answer;
    const etag = `"${(await sha256Hex(JSON.stringify(stable))).slice(0, 20)}"`;
    const headers = { etag, "cache-control": `private, max-age=${EXPANSION_MAX_AGE}`, vary: "Authorization" };
    const match = c.req.header("if-none-match");
    if (match && match.split(",").some((t) => t.trim().replace(/^W\//, "") === etag)) return new Response(null, { status: 304, headers });
    return c.json(answer, 200, headers);
  }
}
