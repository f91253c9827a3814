/**
 * `GET /v1/accounts`, the CS worklist: accounts with their current scores, filtered and sorted,
 * with keyset cursors: a page starts strictly after the last row of the previous one in the
 * sort order, so inserts and rescoring between pages never shift rows into duplicates or gaps
 * the way offsets do. (An account whose own sort value changes mid-walk moves with it.)
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { accounts, scores } from "../../shared/db/schema";
import { fromSql, type SqlPick, sqlColumns } from "../../shared/db/rows";
import { nextAction, type WordedDriver } from "../../shared/cs/wording";
import type { AppEnv } from "../http/auth";
import { decodeCursor, encodeCursor } from "../http/cursor";
import { invalid } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { ScoreView, toScoreView } from "../scoring/schemas";

/** Sort keys: the SQL expression (never NULL, so keyset comparisons hold) and its value type. */
const SORTS = {
  arrAtRisk: { expr: "a.arr_at_risk", numeric: true },
  churnProbability: { expr: "coalesce(a.churn_probability, -1)", numeric: true },
  expansionProbability: { expr: "coalesce(a.expansion_probability, -1)", numeric: true },
  arr: { expr: "coalesce(a.arr, -1)", numeric: true },
  renewalDate: { expr: "coalesce(a.renewal_date, '9999-12-31')", numeric: false },
  name: { expr: "coalesce(a.name, '')", numeric: false },
  id: { expr: "a.id", numeric: false },
  actBy: { expr: "coalesce(a.act_by, '9999-12-31')", numeric: false },
} as const;
type SortKey = keyof typeof SORTS;
const SORT_VALUES = Object.keys(SORTS).flatMap((k) => [k, `-${k}`]) as [string, ...string[]];

interface Cursor {
  s: string;
  v: number | string;
  id: string;
}

/** The worklist's cursor: the sort it was issued for, the last row's sort value and its id. */
function readCursor(text: string, sort: string): Cursor {
  const c = decodeCursor(text, (v) => {
    const c = v as Cursor | null;
    return c && typeof c.id === "string" && (typeof c.v === "number" || typeof c.v === "string") ? c : null;
  });
  if (c.s !== sort) throw invalid("The cursor belongs to a different sort order.", [{ field: "cursor", detail: `issued for sort=${c.s}, not sort=${sort}` }]);
  return c;
}

const WorklistScore = ScoreView.pick({
  churnProbability: true,
  health: true,
  trend: true,
  actBy: true,
  interval: true,
  confidence: true,
  riskTier: true,
  tier: true,
  expansionProbability: true,
  modelVersion: true,
  scoredAt: true,
}).extend({
  topDrivers: z.array(z.object({ feature: z.string(), contribution: z.number(), phrase: z.string() })).describe("The three largest drivers"),
  nextAction: z.string(),
  modelVersion: z.string(),
});

const WorklistAccount = createSelectSchema(accounts)
  .pick({ id: true, name: true, owner: true, renewalDate: true })
  .extend({ arr: z.number().nullable(), arrAtRisk: z.number().describe("ARR × churn probability"), score: WorklistScore.nullable() });

export const Worklist = z.object({
  accounts: z.array(WorklistAccount),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
});

/** A worklist row: the account's own columns, its sort value, and its current score's columns prefixed `s_`. */
type Row = SqlPick<typeof accounts, "id" | "name" | "arr" | "owner" | "renewal_date" | "arr_at_risk" | "trend" | "act_by"> & { sort_value: number | string } & Record<string, unknown>;

export class ListAccounts extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Accounts"],
    summary: "The worklist: accounts with their current scores, filtered and sorted",
    description:
      "Filter by portfolio `tier` (red, yellow, green, blue; comma-separate several), trajectory `trend` (improving, stable, declining), `owner` and `minArr`; sort by `arrAtRisk` (default `-arrAtRisk`, largest first), `churnProbability`, `expansionProbability`, `arr`, `renewalDate`, `name`, `id` or `actBy` (the latest day to act; accounts with none last), with `-` for descending. Pages follow `nextCursor` (keyset pagination, ties broken by id in the same direction): rows added or rescored between pages never cause duplicates or gaps among the others.",
    security: bearer,
    request: {
      query: z.object({
        tier: z
          .string()
          .regex(/^(red|yellow|green|blue)(,(red|yellow|green|blue))*$/, "must be red, yellow, green or blue, comma-separated")
          .optional(),
        trend: z
          .string()
          .regex(/^(improving|stable|declining)(,(improving|stable|declining))*$/, "must be improving, stable or declining, comma-separated")
          .optional()
          .describe("Trajectory trend(s) as of the latest rescoring, e.g. declining"),
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
    if (query.trend) where.push(`a.trend IN (${query.trend.split(",").map(bind).join(", ")})`);
    if (query.owner !== undefined) where.push(`a.owner = ${bind(query.owner)}`);
    if (query.minArr !== undefined) where.push(`a.arr >= ${bind(query.minArr)}`);
    if (query.cursor) {
      const cur = readCursor(query.cursor, sort);
      if (numeric !== (typeof cur.v === "number")) throw invalid("The cursor does not fit this sort.", [{ field: "cursor", detail: "value type does not match the sort key" }]);
      const v = bind(cur.v);
      const id = bind(cur.id);
      // Ties break by id in the same direction, so (value, id) is one index scan either way.
      const cmp = desc ? "<" : ">";
      where.push(key === "id" ? `a.id ${cmp} ${id}` : `(${expr} ${cmp} ${v} OR (${expr} = ${v} AND a.id ${cmp} ${id}))`);
    }
    const dir = desc ? "DESC" : "ASC";
    const order = key === "id" ? `a.id ${dir}` : `${expr} ${dir}, a.id ${dir}`;
    const sql = `SELECT a.id, a.name, a.arr, a.owner, a.renewal_date, a.arr_at_risk, a.trend, a.act_by, ${expr} AS sort_value, ${sqlColumns(scores, "s", "s_")}
      FROM accounts a LEFT JOIN scores s ON s.id = a.score_id
      ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${order} LIMIT ${bind(limit + 1)}`;
    const { results } = await c.env.DB.prepare(sql).bind(...binds).all<Row>();
    const page = results.slice(0, limit);
    const last = page[page.length - 1];
    return {
      accounts: page.map(toWorklistAccount),
      nextCursor: results.length > limit && last ? encodeCursor({ s: sort, v: last.sort_value, id: last.id } satisfies Cursor) : null,
    };
  }
}

function toWorklistAccount(r: Row): z.infer<typeof WorklistAccount> {
  const stored = fromSql(scores, r, "s_");
  const view = stored && toScoreView(stored);
  const drivers = (view?.drivers ?? []) as WordedDriver[];
  return {
    id: r.id,
    name: r.name,
    arr: r.arr,
    owner: r.owner,
    renewalDate: r.renewal_date,
    arrAtRisk: r.arr_at_risk ?? 0,
    score: view && {
      churnProbability: view.churnProbability,
      health: view.health,
      // The account's, as of its latest rescoring (a later score from the API computes no trajectory).
      trend: r.trend,
      actBy: r.act_by,
      interval: view.interval,
      confidence: view.confidence,
      riskTier: view.riskTier,
      tier: view.tier,
      expansionProbability: view.expansionProbability,
      topDrivers: drivers.slice(0, 3).map((d) => ({ feature: d.feature, contribution: d.contribution, phrase: d.phrase })),
      nextAction: nextAction(drivers),
      modelVersion: view.modelVersion,
      scoredAt: view.scoredAt,
    },
  };
}
