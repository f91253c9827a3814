/**
 * `GET /v1/accounts` (the CS worklist) and `GET /v1/accounts/{id}/scores` (score history), both
 * with keyset cursors: a page starts strictly after the last row of the previous one in the
 * sort order, so inserts and rescoring between pages never shift rows into duplicates or gaps
 * the way offsets do. (An account whose own sort value changes mid-walk moves with it.)
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { nextAction } from "../../shared/model/cs-signals";
import type { Driver } from "../../shared/model/scorer";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { AccountId, bearer, Confidence, PortfolioTier, problems, RiskTier } from "../http/schemas";
import { loadAccount, notFound } from "../scoring/scoring";

/** Sort keys: the SQL expression (never NULL, so keyset comparisons hold) and its value type. */
const SORTS = {
  arrAtRisk: { expr: "a.arr_at_risk", numeric: true },
  churnProbability: { expr: "coalesce(a.churn_probability, -1)", numeric: true },
  expansionProbability: { expr: "coalesce(a.expansion_probability, -1)", numeric: true },
  arr: { expr: "coalesce(a.arr, -1)", numeric: true },
  renewalDate: { expr: "coalesce(a.renewal_date, '9999-12-31')", numeric: false },
  name: { expr: "coalesce(a.name, '')", numeric: false },
  id: { expr: "a.id", numeric: false },
} as const;
type SortKey = keyof typeof SORTS;
const SORT_VALUES = Object.keys(SORTS).flatMap((k) => [k, `-${k}`]) as [string, ...string[]];

interface Cursor {
  s: string;
  v: number | string;
  id: string;
}

function encodeCursor(c: Cursor): string {
  return btoa(JSON.stringify(c)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(text: string, sort: string): Cursor {
  let c: Cursor;
  try {
    c = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/"))) as Cursor;
  } catch {
    throw invalid("The cursor is not one this API issued.", [{ field: "cursor", detail: "not a valid cursor; pass nextCursor back unchanged" }]);
  }
  if (!c || typeof c.id !== "string" || (typeof c.v !== "number" && typeof c.v !== "string")) {
    throw invalid("The cursor is not one this API issued.", [{ field: "cursor", detail: "not a valid cursor; pass nextCursor back unchanged" }]);
  }
  if (c.s !== sort) throw invalid("The cursor belongs to a different sort order.", [{ field: "cursor", detail: `issued for sort=${c.s}, not sort=${sort}` }]);
  return c;
}

/** What every stored score shows, in the worklist and in the history alike. */
const StoredScoreCore = z.object({
  churnProbability: z.number(),
  interval: z.tuple([z.number(), z.number()]).nullable(),
  confidence: Confidence.nullable(),
  riskTier: RiskTier,
  tier: PortfolioTier,
  expansionProbability: z.number().nullable(),
});

const WorklistScore = StoredScoreCore.extend({
  topDrivers: z.array(z.object({ feature: z.string(), contribution: z.number(), phrase: z.string() })).describe("The three largest drivers"),
  nextAction: z.string(),
  modelVersion: z.string(),
  scoredAt: z.string(),
});

const WorklistAccount = z.object({
  id: z.string(),
  name: z.string().nullable(),
  arr: z.number().nullable(),
  owner: z.string().nullable(),
  renewalDate: z.string().nullable(),
  arrAtRisk: z.number().describe("ARR × churn probability"),
  score: WorklistScore.nullable(),
});

export const Worklist = z.object({
  accounts: z.array(WorklistAccount),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
});

interface Row {
  id: string;
  name: string | null;
  arr: number | null;
  owner: string | null;
  renewal_date: string | null;
  arr_at_risk: number;
  sort_value: number | string;
  score_id: number | null;
  churn_probability: number | null;
  risk_tier: string | null;
  tier: string | null;
  expansion_probability: number | null;
  interval_low: number | null;
  interval_high: number | null;
  confidence: string | null;
  drivers: string | null;
  model_version: string | null;
  scored_at: string | null;
}

export class ListAccounts extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "The worklist: accounts with their current scores, filtered and sorted",
    description:
      "Filter by portfolio `tier` (red, yellow, green, blue; comma-separate several), `owner` and `minArr`; sort by `arrAtRisk` (default `-arrAtRisk`, largest first), `churnProbability`, `expansionProbability`, `arr`, `renewalDate`, `name` or `id`, with `-` for descending. Pages follow `nextCursor` (keyset pagination, ties broken by id in the same direction): rows added or rescored between pages never cause duplicates or gaps among the others.",
    security: bearer,
    request: {
      query: z.object({
        tier: z
          .string()
          .regex(/^(red|yellow|green|blue)(,(red|yellow|green|blue))*$/, "must be red, yellow, green or blue, comma-separated")
          .optional(),
        owner: z.string().max(200).optional(),
        minArr: z.coerce.number().nonnegative().optional(),
        sort: z.enum(SORT_VALUES).optional().describe("Default -arrAtRisk"),
        limit: z.coerce.number().int().min(1).max(500).optional().describe("Page size, default 50, at most 500"),
        cursor: z.string().max(2000).optional(),
      }),
    },
    responses: { "200": { description: "One page of the worklist", ...contentJson(Worklist) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const sort = query.sort ?? "-arrAtRisk";
    const desc = sort.startsWith("-");
    const key = (desc ? sort.slice(1) : sort) as SortKey;
    const { expr, numeric } = SORTS[key];
    const limit = query.limit ?? 50;
    const where: string[] = [];
    const binds: (string | number)[] = [];
    const bind = (v: string | number) => {
      binds.push(v);
      return `?${binds.length}`;
    };
    if (query.tier) where.push(`a.tier IN (${query.tier.split(",").map(bind).join(", ")})`);
    if (query.owner !== undefined) where.push(`a.owner = ${bind(query.owner)}`);
    if (query.minArr !== undefined) where.push(`a.arr >= ${bind(query.minArr)}`);
    if (query.cursor) {
      const cur = decodeCursor(query.cursor, sort);
      if (numeric !== (typeof cur.v === "number")) throw invalid("The cursor does not fit this sort.", [{ field: "cursor", detail: "value type does not match the sort key" }]);
      const v = bind(cur.v);
      const id = bind(cur.id);
      // Ties break by id in the same direction, so (value, id) is one index scan either way.
      const cmp = desc ? "<" : ">";
      where.push(key === "id" ? `a.id ${cmp} ${id}` : `(${expr} ${cmp} ${v} OR (${expr} = ${v} AND a.id ${cmp} ${id}))`);
    }
    const dir = desc ? "DESC" : "ASC";
    const order = key === "id" ? `a.id ${dir}` : `${expr} ${dir}, a.id ${dir}`;
    const sql = `SELECT a.id, a.name, a.arr, a.owner, a.renewal_date, a.arr_at_risk, ${expr} AS sort_value, a.score_id, a.churn_probability,
        a.risk_tier, a.tier, a.expansion_probability, s.interval_low, s.interval_high, s.confidence, s.drivers, s.model_version, s.scored_at
      FROM accounts a LEFT JOIN scores s ON s.id = a.score_id
      ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${order} LIMIT ${bind(limit + 1)}`;
    const { results } = await c.env.DB.prepare(sql).bind(...binds).all<Row>();
    const page = results.slice(0, limit);
    const last = page[page.length - 1];
    return {
      accounts: page.map(toWorklistAccount),
      nextCursor: results.length > limit && last ? encodeCursor({ s: sort, v: last.sort_value, id: last.id }) : null,
    };
  }
}

function toWorklistAccount(r: Row): z.infer<typeof WorklistAccount> {
  const drivers = r.drivers ? (JSON.parse(r.drivers) as Driver[]) : [];
  return {
    id: r.id,
    name: r.name,
    arr: r.arr,
    owner: r.owner,
    renewalDate: r.renewal_date,
    arrAtRisk: r.arr_at_risk,
    score:
      r.score_id === null || r.churn_probability === null || r.model_version === null || r.scored_at === null
        ? null
        : {
            churnProbability: r.churn_probability,
            interval: r.interval_low !== null && r.interval_high !== null ? [r.interval_low, r.interval_high] : null,
            confidence: r.confidence as z.infer<typeof Confidence> | null,
            riskTier: r.risk_tier as z.infer<typeof RiskTier>,
            tier: (r.tier ?? r.risk_tier) as z.infer<typeof PortfolioTier>,
            expansionProbability: r.expansion_probability,
            topDrivers: drivers.slice(0, 3).map((d) => ({ feature: d.feature, contribution: d.contribution, phrase: d.phrase })),
            nextAction: nextAction(drivers),
            modelVersion: r.model_version,
            scoredAt: r.scored_at,
          },
  };
}

const HistoryEntry = StoredScoreCore.extend({
  id: z.number().int(),
  expansionReady: z.boolean().nullable(),
  expansionSource: z.enum(["model", "scorecard"]).nullable(),
  drivers: z.array(z.unknown()),
  imputed: z.array(z.string()),
  modelVersion: z.string().describe("The churn model that produced this score"),
  expansionModelVersion: z.string().nullable(),
  source: z.string().describe("api, batch, rescore or start"),
  runId: z.string().nullable(),
  scoredAt: z.string(),
});

export const ScoreHistory = z.object({
  accountId: z.string(),
  scores: z.array(HistoryEntry).describe("Newest first"),
  nextCursor: z.string().nullable(),
});

interface HistoryRow {
  id: number;
  churn_probability: number;
  interval_low: number | null;
  interval_high: number | null;
  confidence: string | null;
  risk_tier: string;
  tier: string | null;
  expansion_probability: number | null;
  expansion_ready: number | null;
  expansion_source: string | null;
  expansion_version: string | null;
  drivers: string;
  imputed: string;
  model_version: string;
  source: string;
  run_id: string | null;
  scored_at: string;
}

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
    const { results } = await c.env.DB.prepare(
      `SELECT id, churn_probability, interval_low, interval_high, confidence, risk_tier, tier, expansion_probability, expansion_ready, expansion_source,
        expansion_version, drivers, imputed, model_version, source, run_id, scored_at
       FROM scores WHERE account_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3`,
    )
      .bind(params.id, before, limit + 1)
      .all<HistoryRow>();
    const page = results.slice(0, limit);
    return {
      accountId: params.id,
      scores: page.map((r) => ({
        id: r.id,
        churnProbability: r.churn_probability,
        interval: r.interval_low !== null && r.interval_high !== null ? ([r.interval_low, r.interval_high] as [number, number]) : null,
        confidence: r.confidence as z.infer<typeof Confidence> | null,
        riskTier: r.risk_tier as z.infer<typeof RiskTier>,
        tier: (r.tier ?? r.risk_tier) as z.infer<typeof PortfolioTier>,
        expansionProbability: r.expansion_probability,
        expansionReady: r.expansion_ready === null ? null : r.expansion_ready === 1,
        expansionSource: r.expansion_source as "model" | "scorecard" | null,
        drivers: JSON.parse(r.drivers) as unknown[],
        imputed: JSON.parse(r.imputed) as string[],
        modelVersion: r.model_version,
        expansionModelVersion: r.expansion_version,
        source: r.source,
        runId: r.run_id,
        scoredAt: r.scored_at,
      })),
      nextCursor: results.length > limit ? String(page[page.length - 1].id) : null,
    };
  }
}
