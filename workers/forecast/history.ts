/**
 * What the outcomes history says about expansions as of a day: how much ARR expansions added over
 * the last 12 months and how large one is (median expansion ÷ ARR before it). One module for the
 * Worker and the offline backtest, which asks it as of each past origin; both pass a query
 * function, so the SQL is the same against D1 in the Worker and through the platform proxy.
 */
import { addDays, daysBetween } from "../../shared/days";
import { MIN_RATE_ACCOUNTS, TERM_DAYS } from "./hazards";

/** Runs SQL with `?1`-style parameters and returns its rows (D1 in the Worker, the platform proxy offline). */
export type Query = (sql: string, params: (string | number)[]) => Promise<Record<string, unknown>[]>;

/** Most expansions read for the median share: a deterministic sample by account id bounds the read. */
const SHARE_SAMPLE = 20_000;

export interface ExpansionHistory {
  /** Days of history the rates cover (up to 365, fewer when the platform's first score is more recent). */
  spanDays: number;
  expansions: number;
  /** ARR the expansions added. */
  arr: number;
  /** Median amount ÷ ARR before the expansion, or null with fewer than MIN_RATE_ACCOUNTS expansions. */
  medianShare: number | null;
}

/** A query function over a D1 binding. */
export function d1Rows(d1: D1Database): Query {
  return async (sql, params) => (await d1.prepare(sql).bind(...params).all<Record<string, unknown>>()).results;
}

/**
 * Expansions recorded in the 365 days before `asOf` (or since the platform's first score).
 *
 * @example
 *   const h = await expansionHistory(d1Rows(env.DB), "2026-12-02");
 *   expansionArrRate(h, portfolioArr); // expansion ARR per year ÷ ARR
 */
export async function expansionHistory(query: Query, asOf: string): Promise<ExpansionHistory> {
  const [first] = await query("SELECT substr(scored_at, 1, 10) AS day FROM scores ORDER BY id LIMIT 1", []);
  const from = [addDays(asOf, -TERM_DAYS), typeof first?.day === "string" ? first.day : asOf].sort()[1];
  const spanDays = Math.max(0, daysBetween(from, asOf));
  const [count] = await query("SELECT count(*) AS n, coalesce(sum(amount), 0) AS arr FROM outcomes WHERE type = 'expanded' AND date >= ?1 AND date < ?2", [from, asOf]);
  const expansions = Number(count?.n ?? 0);
  let medianShare: number | null = null;
  if (expansions >= MIN_RATE_ACCOUNTS) {
    // ARR before an expansion: the account's ARR now less every expansion on or after that day (churned accounts keep their ARR at churn).
    const rows = await query(
      `SELECT o.amount AS amount, a.arr - coalesce((SELECT sum(x.amount) FROM outcomes x WHERE x.account_id = o.account_id AND x.type = 'expanded' AND x.date >= o.date), 0) AS before
       FROM outcomes o JOIN accounts a ON a.id = o.account_id
       WHERE o.type = 'expanded' AND o.date >= ?1 AND o.date < ?2 AND o.amount > 0 ORDER BY o.account_id, o.date LIMIT ${SHARE_SAMPLE}`,
      [from, asOf],
    );
    const shares = rows.map((r) => Number(r.amount) / Number(r.before)).filter((s) => Number.isFinite(s) && s > 0).sort((a, b) => a - b);
    if (shares.length >= MIN_RATE_ACCOUNTS) medianShare = shares.length % 2 ? shares[(shares.length - 1) / 2] : (shares[shares.length / 2 - 1] + shares[shares.length / 2]) / 2;
  }
  return { spanDays, expansions, arr: Number(count?.arr ?? 0), medianShare };
}

/**
 * Expansion ARR per year as a share of the portfolio's ARR (`arr`), or null with fewer than
 * MIN_RATE_ACCOUNTS expansions to go on. ARR, not a count: larger accounts may expand more often.
 */
export function expansionArrRate(h: ExpansionHistory, arr: number): number | null {
  if (h.expansions < MIN_RATE_ACCOUNTS || h.spanDays < 7 || !(arr > 0)) return null;
  return h.arr / (arr * (h.spanDays / TERM_DAYS));
}
