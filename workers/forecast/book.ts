/**
 * What the forecast reads from D1: the active accounts with their current scores, in pages by id
 * (never one unbounded query), the models' horizons, whether a trajectory model is active, the
 * expansion history and the calibrated shock (`settings` key `forecast.shock`, written by
 * `npm run backtest -- --forecast --save-shock`).
 */
import { eq } from "drizzle-orm";
import { activeModelRow } from "../../shared/db/registry";
import { settings } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import type { PortfolioTier } from "../../shared/tiers";
import { activeScorer } from "../scoring/model-cache";
import { type ForecastAccount, type HazardContext, nextRenewal } from "./hazards";
import { d1Rows, expansionArrRate, expansionHistory } from "./history";
import { DEFAULT_SHOCK, type Shock } from "./simulate";

/** Accounts read per query. */
export const PAGE = 1000;
/** The `settings` key of the shock calibrated on this installation's history. */
export const SHOCK_SETTING = "forecast.shock";

/** The active accounts as the forecast sees them, with what the response names them by. */
export interface Book {
  accounts: ForecastAccount[];
  names: (string | null)[];
  owners: (string | null)[];
  /** Active accounts left out, by owner (null: no owner): never scored, or without ARR. */
  excluded: Map<string | null, { unscored: number; withoutArr: number }>;
}

interface BookRow {
  id: string;
  name: string | null;
  owner: string | null;
  arr: number | null;
  renewal_date: string | null;
  churn_probability: number | null;
  expansion_probability: number | null;
  tier: string | null;
  scored_day: string | null;
  expansion_source: string | null;
  health_90: number | null;
}

/**
 * Every account whose latest outcome is not a churn, page by page; the scored ones with ARR are
 * forecast, the others counted. Renewal dates are stepped to the first one on or after `today`.
 */
export async function readBook(d1: D1Database, today: string): Promise<Book> {
  const book: Book = { accounts: [], names: [], owners: [], excluded: new Map() };
  const skip = (owner: string | null, why: "unscored" | "withoutArr") => {
    const counts = book.excluded.get(owner) ?? { unscored: 0, withoutArr: 0 };
    counts[why]++;
    book.excluded.set(owner, counts);
  };
  let after = "";
  for (;;) {
    const { results } = await d1
      .prepare(
        `SELECT a.id, a.name, a.owner, a.arr, a.renewal_date, a.churn_probability, a.expansion_probability, a.tier,
           substr(a.scored_at, 1, 10) AS scored_day, s.expansion_source, s.health_90
         FROM accounts a LEFT JOIN scores s ON s.id = a.score_id
         WHERE a.id > ?1
           AND coalesce((SELECT o.type FROM outcomes o WHERE o.account_id = a.id ORDER BY o.date DESC, o.type = 'churned' DESC LIMIT 1), '') != 'churned'
         ORDER BY a.id LIMIT ?2`,
      )
      .bind(after, PAGE)
      .all<BookRow>();
    for (const r of results) {
      if (r.churn_probability === null || r.scored_day === null) skip(r.owner, "unscored");
      else if (!(r.arr !== null && r.arr > 0)) skip(r.owner, "withoutArr");
      else {
        book.accounts.push({
          id: r.id,
          arr: r.arr,
          churnProbability: r.churn_probability,
          scoredAt: r.scored_day,
          renewalDate: nextRenewal(r.renewal_date, today),
          expansionProbability: r.expansion_probability,
          expansionSource: r.expansion_source,
          tier: r.tier as PortfolioTier | null,
          health90: r.health_90,
        });
        book.names.push(r.name);
        book.owners.push(r.owner);
      }
    }
    if (results.length < PAGE) return book;
    after = results[results.length - 1].id;
  }
}

/** The stored shock, if a backtest saved one, else DEFAULT_SHOCK. */
export async function storedShock(d1: D1Database): Promise<Shock & { source: "backtest" | "default"; calibratedAt: string | null }> {
  const [row] = await db(d1).select({ value: settings.value }).from(settings).where(eq(settings.key, SHOCK_SETTING));
  const v = row?.value as { churn?: unknown; expansion?: unknown; calibratedAt?: unknown } | undefined;
  const ok = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0 && x <= 3;
  if (v && ok(v.churn) && ok(v.expansion)) return { churn: v.churn, expansion: v.expansion, source: "backtest", calibratedAt: typeof v.calibratedAt === "string" ? v.calibratedAt : null };
  return { ...DEFAULT_SHOCK, source: "default", calibratedAt: null };
}

/** The models' horizons, whether trajectory forecasts are usable, and what the expansion history says as of `today`. */
export async function hazardContext(env: Env, book: Book, today: string): Promise<{ ctx: HazardContext; trajectoryActive: boolean }> {
  const [churn, expansion, trajectory, history] = await Promise.all([
    activeScorer(env, "churn"),
    activeScorer(env, "expansion"),
    activeModelRow(env.DB, "trajectory"),
    expansionHistory(d1Rows(env.DB), today),
  ]);
  const arr = book.accounts.reduce((s, a) => s + a.arr, 0);
  return {
    ctx: {
      horizonDays: churn?.artifact.horizonDays ?? DEFAULT_HORIZON_DAYS,
      expansionHorizonDays: expansion?.artifact.horizonDays ?? DEFAULT_HORIZON_DAYS,
      observedExpansionArrRate: expansionArrRate(history, arr),
      observedExpansionShare: history.medianShare,
    },
    trajectoryActive: trajectory !== undefined,
  };
}
