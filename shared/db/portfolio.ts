/**
 * Portfolio figures (accounts and ARR per tier, ARR at risk) straight from the accounts' current
 * scores, and the rescoring runs that record them. Shared by the Worker and the Node CLIs.
 */
import type { SqlPick } from "./rows";
import type { accounts, rescoreRuns } from "./schema";
import { PORTFOLIO_TIERS as TIERS, type PortfolioTier as Tier } from "../tiers";

export interface TierFigures {
  accounts: number;
  arr: number;
}

export interface PortfolioFigures {
  tiers: Record<Tier, TierFigures>;
  /** Σ churn probability × ARR over scored accounts. */
  arrAtRisk: number;
  accounts: number;
  arr: number;
  /** Accounts with no score yet (they count in `accounts` but in no tier). */
  unscored: TierFigures;
}

/** The live figures, one GROUP BY over `accounts`. */
export async function portfolioFigures(d1: D1Database): Promise<PortfolioFigures> {
  const rows = await d1
    .prepare("SELECT tier, count(*) AS accounts, coalesce(sum(arr), 0) AS arr, coalesce(sum(arr_at_risk), 0) AS at_risk FROM accounts GROUP BY tier")
    .all<SqlPick<typeof accounts, "tier"> & { accounts: number; arr: number; at_risk: number }>();
  const tiers = Object.fromEntries(TIERS.map((t) => [t, { accounts: 0, arr: 0 }])) as Record<Tier, TierFigures>;
  const out: PortfolioFigures = { tiers, arrAtRisk: 0, accounts: 0, arr: 0, unscored: { accounts: 0, arr: 0 } };
  for (const r of rows.results) {
    const bucket = r.tier && (TIERS as readonly string[]).includes(r.tier) ? tiers[r.tier as Tier] : out.unscored;
    bucket.accounts += r.accounts;
    bucket.arr += r.arr;
    out.accounts += r.accounts;
    out.arr += r.arr;
    out.arrAtRisk += r.at_risk;
  }
  return out;
}

/** A finished run to record: the `rescore_runs` columns a caller knows. */
export type RunRecord = Required<Pick<typeof rescoreRuns.$inferInsert, "id" | "trigger" | "modelVersion" | "accounts" | "scored" | "tierChanges" | "startedAt">>;

/** Records a finished rescoring run with the portfolio it left behind. */
export async function recordCompletedRun(d1: D1Database, run: RunRecord): Promise<PortfolioFigures> {
  const portfolio = await portfolioFigures(d1);
  await d1
    .prepare(
      `INSERT INTO rescore_runs (id, trigger, status, model_version, accounts, scored, tier_changes, portfolio, started_at, finished_at)
       VALUES (?1, ?2, 'completed', ?3, ?4, ?5, ?6, ?7, ?8, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
    )
    .bind(run.id, run.trigger, run.modelVersion, run.accounts, run.scored, run.tierChanges, JSON.stringify(portfolio), run.startedAt)
    .run();
  return portfolio;
}

/** A completed run with the portfolio it left behind. */
export type CompletedRun = Pick<typeof rescoreRuns.$inferSelect, "id" | "trigger"> & { finishedAt: string; portfolio: PortfolioFigures };

/** The most recent completed runs, newest first. */
export async function completedRuns(d1: D1Database, limit = 2): Promise<CompletedRun[]> {
  const rows = await d1
    .prepare("SELECT id, trigger, finished_at, portfolio FROM rescore_runs WHERE status = 'completed' AND portfolio IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT ?1")
    .bind(limit)
    .all<SqlPick<typeof rescoreRuns, "id" | "trigger"> & { finished_at: string; portfolio: string }>(); // both non-null by the WHERE
  return rows.results.map((r) => ({ id: r.id, trigger: r.trigger, finishedAt: r.finished_at, portfolio: JSON.parse(r.portfolio) as PortfolioFigures }));
}

/** A run id that sorts by time: `run_20261122T170512Z_3fa1c2`. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const rand = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => b.toString(16).padStart(2, "0")).join("");
  return `run_${stamp}_${rand}`;
}
