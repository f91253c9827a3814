/**
 * What rescoring does for trajectories: each account's trajectory as of the run (stored with its
 * score: health, the 90-day forecast with its bounds, trend and act-by), today's point in its
 * weekly health history, and `account.trend_changed` when it turns declining.
 */
import type { Assessment } from "../../shared/cs/assess";
import { addDays } from "../../shared/days";
import { type HealthAt, healthOf, type HorizonForecast, type LeadDays } from "../../shared/cs/trajectory";
import type { SqlPick } from "../../shared/db/rows";
import type { accounts, signalSnapshots } from "../../shared/db/schema";
import type { ScoreWrite } from "../../shared/db/scores";
import { jsonChunks } from "../../shared/db/write";
import { eventId, type NewEvent } from "../webhooks/outbox";
import { SNAPSHOT_LOOKBACK_DAYS, type SnapshotAt, type Trajectory, type TrajectoryFacts, trajectoryOf } from "./trajectory";

/** The account columns rescoring reads for trajectories. */
export type TrajectoryColumns = SqlPick<typeof accounts, "id" | "name" | "arr" | "owner" | "renewal_date" | "health_history" | "trend" | "risk_tier">;

/** A rescored account's trajectory, the score columns it fills, and its new history. */
export interface RescoredTrajectory {
  trajectory: Trajectory;
  scoreFields: Pick<ScoreWrite, "health90" | "health90Low" | "health90High" | "trend" | "actBy">;
  history: HealthAt[];
}

/** The trajectory of a just-assessed account as of `today`. */
export function rescoredTrajectory(
  a: TrajectoryColumns,
  result: Assessment,
  redThreshold: number,
  lead: LeadDays,
  today: string,
  forecast?: (facts: TrajectoryFacts) => HorizonForecast[],
): RescoredTrajectory {
  const facts: TrajectoryFacts = {
    today,
    health: healthOf(result.score.churnProbability),
    riskTier: result.score.riskTier,
    tier: result.tier,
    redThreshold,
    renewalDate: a.renewal_date,
    history: JSON.parse(a.health_history) as HealthAt[],
  };
  const trajectory = trajectoryOf(facts, lead, forecast ? forecast(facts) : null);
  const far = trajectory.horizons[trajectory.horizons.length - 1];
  return {
    trajectory,
    scoreFields: { health90: far.health, health90Low: far.lower, health90High: far.upper, trend: trajectory.trend, actBy: trajectory.actBy },
    history: trajectory.history,
  };
}

/** `account.trend_changed` when an account that had a score (and was not declining) turns declining. */
export async function trendEvent(a: TrajectoryColumns, t: Trajectory, runId: string, modelVersion: string): Promise<NewEvent[]> {
  if (a.risk_tier === null || a.trend === "declining" || t.trend !== "declining") return [];
  return [
    {
      id: await eventId(runId, a.id, "account.trend_changed"),
      type: "account.trend_changed",
      accountId: a.id,
      runId,
      modelVersion,
      payload: {
        account: { id: a.id, name: a.name, arr: a.arr, owner: a.owner },
        previousTrend: a.trend,
        trend: t.trend,
        health: t.health,
        horizons: t.horizons,
        actBy: t.actBy,
        reasons: t.reasons,
        source: t.source,
        runId,
      },
    },
  ];
}

/** Statements that store accounts' new weekly histories (one JSON parameter per few thousand). */
export function historyStatements(d1: D1Database, rows: { id: string; history: HealthAt[] }[]): D1PreparedStatement[] {
  return jsonChunks(rows.map((r) => ({ i: r.id, h: r.history }))).map((json) =>
    d1
      .prepare(
        `UPDATE accounts SET health_history = json_extract(j.value, '$.h') FROM (SELECT value FROM json_each(?1)) AS j WHERE accounts.id = json_extract(j.value, '$.i')`,
      )
      .bind(json),
  );
}

/** Signal snapshots of the last SNAPSHOT_LOOKBACK_DAYS for accounts in [from, to), by account, oldest first. */
export async function snapshotsInRange(d1: D1Database, from: string, to: string | null, today: string): Promise<Map<string, SnapshotAt[]>> {
  const below = to === null ? "" : "AND account_id < ?4";
  const { results } = await d1
    .prepare(`SELECT account_id, as_of, features FROM signal_snapshots WHERE account_id >= ?1 ${below} AND as_of >= ?2 AND as_of < ?3 ORDER BY account_id, as_of`)
    .bind(from, addDays(today, -SNAPSHOT_LOOKBACK_DAYS), today, ...(to === null ? [] : [to]))
    .all<SqlPick<typeof signalSnapshots, "account_id" | "as_of" | "features">>();
  const out = new Map<string, SnapshotAt[]>();
  for (const r of results) {
    const list = out.get(r.account_id) ?? [];
    list.push({ date: r.as_of, signals: JSON.parse(r.features) as SnapshotAt["signals"] });
    out.set(r.account_id, list);
  }
  return out;
}
