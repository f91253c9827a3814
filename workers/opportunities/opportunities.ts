/**
 * `GET /v1/opportunities`: the expansion pipeline. Expansion-ready (blue) accounts with their
 * expected expansion ARR = expansion probability × ARR × the size basis's share (sizing.ts), the
 * totals per owner and segment, and the change since the rescoring before the latest one.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { addDays } from "../../shared/days";
import { completedRuns } from "../../shared/db/portfolio";
import { today as todayOf } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { Opportunities, type Totals } from "./schemas";
import { ALL, type SizeBasis, sizeBases } from "./sizing";

const SEGMENT = "json_extract(a.features, '$.segment')";

interface Group {
  segment: string | null;
  owner: string | null;
  n: number;
  arr: number;
  weighted: number;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** Totals of groups (accounts, ARR, Σ p × ARR per segment) with each segment's share applied. */
function totalsOf(groups: readonly Group[], bases: ReadonlyMap<string, SizeBasis>): Totals {
  const basis = (seg: string | null) => bases.get(seg ?? ALL) ?? bases.get(ALL)!;
  const add = (m: Map<string, { accounts: number; arr: number; expectedExpansionArr: number }>, key: string, g: Group) => {
    const t = m.get(key) ?? { accounts: 0, arr: 0, expectedExpansionArr: 0 };
    t.accounts += g.n;
    t.arr += g.arr;
    t.expectedExpansionArr += g.weighted * basis(g.segment).share;
    m.set(key, t);
  };
  const byOwner = new Map<string, { accounts: number; arr: number; expectedExpansionArr: number }>();
  const bySegment = new Map<string, { accounts: number; arr: number; expectedExpansionArr: number }>();
  let accounts = 0;
  let arr = 0;
  let expected = 0;
  for (const g of groups) {
    accounts += g.n;
    arr += g.arr;
    expected += g.weighted * basis(g.segment).share;
    add(byOwner, g.owner ?? "", g);
    add(bySegment, g.segment ?? "", g);
  }
  const list = <K extends string>(m: Map<string, { accounts: number; arr: number; expectedExpansionArr: number }>, key: K) =>
    [...m].map(([k, t]) => ({ [key]: k === "" ? null : k, accounts: t.accounts, arr: round(t.arr), expectedExpansionArr: round(t.expectedExpansionArr) }) as { [P in K]: string | null } & { accounts: number; arr: number; expectedExpansionArr: number }).sort((a, b) => b.expectedExpansionArr - a.expectedExpansionArr);
  return { accounts, arr: round(arr), expectedExpansionArr: round(expected), byOwner: list(byOwner, "owner"), bySegment: list(bySegment, "segment") };
}

export class ListOpportunities extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Forecast"],
    summary: "Expansion-ready accounts with their expected expansion ARR, totals per owner and segment, and the trend",
    description:
      "Each expansion-ready (blue) account's expected expansion ARR = expansion probability × ARR × the median expansion share of similar accounts (same `segment` signal; `expanded` outcomes with an amount in the last 365 days, amount ÷ ARR; at least 5, else the portfolio's median, else 20%). `sizeBases` says which basis each segment used. Totals cover every expansion-ready account (filters apply to the list and the totals alike); `previous` is the same totals from the scores of the rescoring before the latest one.",
    security: bearer,
    request: {
      query: z.object({
        owner: z.string().min(1).max(200).optional(),
        segment: z.string().min(1).max(200).optional().describe("The `segment` signal's value"),
        limit: z.coerce.number().int().min(1).max(1000).optional().describe("Accounts listed, largest expected expansion first; default 100"),
      }),
    },
    responses: { "200": { description: "The expansion pipeline", ...contentJson(Opportunities) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const d1 = c.env.DB;
    const today = todayOf();
    const where: string[] = [];
    const binds: string[] = [];
    if (query.owner) where.push(`a.owner = ?${binds.push(query.owner)}`);
    if (query.segment) where.push(`${SEGMENT} = ?${binds.push(query.segment)}`);
    const filter = where.length ? ` AND ${where.join(" AND ")}` : "";
    const groupSql = (from: string) => `SELECT ${SEGMENT} AS segment, a.owner AS owner, count(*) AS n, coalesce(sum(a.arr), 0) AS arr,
        coalesce(sum(coalesce(a.arr, 0) * coalesce(${from}.expansion_probability, 0)), 0) AS weighted`;
    const runs = await completedRuns(d1, 2);
    const previousRun = runs[1] ?? null;
    const [shares, current, previous] = await d1.batch([
      d1
        .prepare(`SELECT ${SEGMENT} AS segment, o.amount / a.arr AS share FROM outcomes o JOIN accounts a ON a.id = o.account_id WHERE o.type = 'expanded' AND o.amount > 0 AND a.arr > 0 AND o.date >= ?1`)
        .bind(addDays(today, -365)),
      d1.prepare(`${groupSql("a")} FROM accounts a WHERE a.tier = 'blue'${filter} GROUP BY 1, 2`).bind(...binds),
      d1
        .prepare(`${groupSql("s")} FROM scores s JOIN accounts a ON a.id = s.account_id WHERE s.run_id = ?${binds.length + 1} AND s.tier = 'blue'${filter} GROUP BY 1, 2`)
        .bind(...binds, previousRun?.id ?? ""),
    ]);
    const bySegment = new Map<string, number[]>();
    for (const r of shares.results as { segment: string | null; share: number }[]) {
      const k = r.segment ?? ALL;
      bySegment.set(k, [...(bySegment.get(k) ?? []), r.share]);
    }
    const groups = current.results as unknown as Group[];
    const segments = [...new Set(groups.map((g) => g.segment).filter((s): s is string => s !== null))];
    const bases = sizeBases(bySegment, segments);
    const basis = (seg: string | null) => bases.get(seg ?? ALL) ?? bases.get(ALL)!;

    // The list is ranked in D1 by the same expected value, each segment's share bound in a CASE.
    const listBinds: (string | number)[] = [...binds];
    const bind = (v: string | number) => `?${listBinds.push(v)}`;
    const shareSql = segments.length ? `CASE ${SEGMENT} ${segments.map((seg) => `WHEN ${bind(seg)} THEN ${bind(basis(seg).share)}`).join(" ")} ELSE ${bind(basis(null).share)} END` : bind(basis(null).share);
    const { results } = await d1
      .prepare(
        `SELECT a.id, a.name, a.owner, a.arr, a.renewal_date, a.expansion_probability, ${SEGMENT} AS segment, s.expansion_reason, s.expansion_source
         FROM accounts a LEFT JOIN scores s ON s.id = a.score_id WHERE a.tier = 'blue'${filter}
         ORDER BY coalesce(a.arr, 0) * coalesce(a.expansion_probability, 0) * ${shareSql} DESC, a.id LIMIT ${bind(query.limit ?? 100)}`,
      )
      .bind(...listBinds)
      .all<{ id: string; name: string | null; owner: string | null; arr: number | null; renewal_date: string | null; expansion_probability: number | null; segment: string | null; expansion_reason: string | null; expansion_source: string | null }>();
    const opportunities = results
      .map((r) => {
        const b = basis(r.segment);
        const size = (r.arr ?? 0) * b.share;
        return {
          id: r.id,
          name: r.name,
          owner: r.owner,
          segment: r.segment,
          arr: r.arr,
          renewalDate: r.renewal_date,
          expansionProbability: r.expansion_probability ?? 0,
          expansionSource: r.expansion_source,
          reason: r.expansion_reason,
          sizeEstimate: round(size),
          sizeBasis: b.source,
          expectedExpansionArr: round((r.expansion_probability ?? 0) * size),
        };
      });

    const totals = totalsOf(groups, bases);
    const before = previousRun ? totalsOf(previous.results as unknown as Group[], bases) : null;
    return {
      asOf: today,
      method: "expected expansion ARR = expansion probability × ARR × median(expansion amount ÷ ARR) of the segment's expanded outcomes in the last 365 days (≥ 5, else the portfolio's, else 20%)",
      sizeBases: [...bases.values()],
      opportunities,
      totals: {
        ...totals,
        previous: before && previousRun ? { runId: previousRun.id, rescoredAt: previousRun.finishedAt, accounts: before.accounts, arr: before.arr, expectedExpansionArr: before.expectedExpansionArr } : null,
        change: before ? { accounts: totals.accounts - before.accounts, arr: round(totals.arr - before.arr), expectedExpansionArr: round(totals.expectedExpansionArr - before.expectedExpansionArr) } : null,
      },
    };
  }
}
