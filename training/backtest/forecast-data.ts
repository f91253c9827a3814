/**
 * The revenue forecast backtest's view of D1 as of a past day: every account that was a customer
 * then, with its ARR then and its latest score made by then (the scores history: the SaaS demo
 * writes one per weekly snapshot, dated that week), and what happened afterwards (its churn and
 * expansion outcomes). Nothing dated after the origin reaches the forecast.
 */
import { addDays } from "../../shared/days";
import type { PortfolioTier } from "../../shared/tiers";
import { type ForecastAccount, nextRenewal } from "../../workers/forecast/hazards";
import type { Query } from "../../workers/forecast/history";

/** The accounts as of an origin, with the sub-portfolio each falls in. */
export interface OriginBook {
  origin: string;
  accounts: ForecastAccount[];
  /** Per account: its owner, or its signal named by `by` (e.g. segment); "(none)" when missing. */
  groups: string[];
}

/**
 * Accounts that were customers on `origin` (their latest outcome before it is not a churn) and had
 * a score made on or before it. ARR then is ARR now less the expansions dated on or after the
 * origin; the renewal is the stored renewal date stepped to the first anniversary on or after it.
 *
 * @example
 *   const book = await bookAsOf(d1Query(env.DB), "2026-04-01", "owner");
 */
export async function bookAsOf(query: Query, origin: string, by: string): Promise<OriginBook> {
  const group = by === "owner" ? "a.owner" : "json_extract(a.features, ?3)";
  const rows = await query(
    `SELECT a.id, a.renewal_date, ${group} AS grp,
       a.arr - coalesce((SELECT sum(x.amount) FROM outcomes x WHERE x.account_id = a.id AND x.type = 'expanded' AND x.date >= ?1), 0) AS arr_then,
       s.churn_probability, s.expansion_probability, s.expansion_source, s.tier, substr(s.scored_at, 1, 10) AS scored_day, s.health_90
     FROM accounts a
     JOIN scores s ON s.id = (SELECT t.id FROM scores t WHERE t.account_id = a.id AND t.scored_at < ?2 ORDER BY t.scored_at DESC, t.id DESC LIMIT 1)
     WHERE coalesce((SELECT o.type FROM outcomes o WHERE o.account_id = a.id AND o.date < ?1 ORDER BY o.date DESC, o.type = 'churned' DESC LIMIT 1), '') != 'churned'
     ORDER BY a.id`,
    by === "owner" ? [origin, addDays(origin, 1)] : [origin, addDays(origin, 1), `$.${by}`],
  );
  const accounts: ForecastAccount[] = [];
  const groups: string[] = [];
  for (const r of rows) {
    const arr = Number(r.arr_then);
    if (!(arr > 0)) continue;
    accounts.push({
      id: String(r.id),
      arr,
      churnProbability: Number(r.churn_probability),
      scoredAt: String(r.scored_day),
      renewalDate: nextRenewal(typeof r.renewal_date === "string" ? r.renewal_date : null, origin),
      expansionProbability: r.expansion_probability === null ? null : Number(r.expansion_probability),
      expansionSource: r.expansion_source === null ? null : String(r.expansion_source),
      tier: (r.tier ?? null) as PortfolioTier | null,
      health90: r.health_90 === null ? null : Number(r.health_90),
    });
    groups.push(r.grp === null || r.grp === undefined ? "(none)" : String(r.grp));
  }
  return { origin, accounts, groups };
}

/** Per account of a book: whether it churned in the window, and the ARR its expansions added there. */
export interface WindowActuals {
  churned: Uint8Array;
  expansion: Float64Array;
}

/**
 * What happened to the book's accounts from `start` to `end` (both included), by the outcomes.
 *
 * @example
 *   const actual = await actualsIn(d1Query(env.DB), book, "2026-04-01", "2026-06-30");
 */
export async function actualsIn(query: Query, book: OriginBook, start: string, end: string): Promise<WindowActuals> {
  const index = new Map(book.accounts.map((a, i) => [a.id, i]));
  const out: WindowActuals = { churned: new Uint8Array(book.accounts.length), expansion: new Float64Array(book.accounts.length) };
  const rows = await query("SELECT account_id, type, amount FROM outcomes WHERE date >= ?1 AND date <= ?2 AND type IN ('churned', 'expanded')", [start, end]);
  for (const r of rows) {
    const i = index.get(String(r.account_id));
    if (i === undefined) continue;
    if (r.type === "churned") out.churned[i] = 1;
    else out.expansion[i] += Number(r.amount ?? 0);
  }
  return out;
}

/** The first and last days of the scores history (the last is the data's "today"). */
export async function historySpan(query: Query): Promise<{ first: string; last: string } | null> {
  const [r] = await query("SELECT min(substr(scored_at, 1, 10)) AS first, max(substr(scored_at, 1, 10)) AS last FROM scores", []);
  return typeof r?.first === "string" && typeof r?.last === "string" ? { first: r.first, last: r.last } : null;
}
