/**
 * Demo data and bulk scoring for `npm start`, against the local D1 through the platform proxy:
 * loads the Telco data set as accounts (ARR = 12 × MonthlyCharges), scores every account
 * whose latest score is missing, stale, or from another model version, and scores stored
 * signal history week by week (the SaaS demo's score history).
 */
import { readFileSync } from "node:fs";
import type { BatchItem } from "drizzle-orm/batch";
import { csvRecords, parseCsv } from "../shared/csv";
import type { Signals } from "../shared/db/schema";
import { type AccountWrite, upsertAccountStatements } from "../shared/db/accounts";
import { db, runBatch } from "../shared/db/write";
import { insertScoreStatements, type ScoreWrite, toScoreWrite } from "../shared/db/scores";
import { isMissing } from "../shared/model/features";
import { type ActiveModels, assess } from "../shared/cs/assess";
import { newRunId, recordCompletedRun } from "../shared/db/portfolio";

/** D1 takes at most this many statements per batch comfortably; each batch is one transaction. */
const STATEMENTS_PER_BATCH = 200;

async function runInBatches(d: ReturnType<typeof db>, stmts: BatchItem<"sqlite">[]): Promise<void> {
  for (let i = 0; i < stmts.length; i += STATEMENTS_PER_BATCH) await runBatch(d, stmts.slice(i, i + STATEMENTS_PER_BATCH));
}

/** Plain D1 statements (the bulk JSON ones) per batch: each carries up to 800 KB of rows. */
const BULK_STATEMENTS_PER_BATCH = 8;

/**
 * Runs plain D1 statements (e.g. `bulkUpsertAccountStatements`) a few per batch, so no single
 * transaction carries more than a few megabytes through the platform proxy.
 *
 * @example
 *   await runD1Batches(env.DB, bulkDatedSnapshotStatements(env.DB, snapshots));
 */
export async function runD1Batches(d1: D1Database, stmts: D1PreparedStatement[]): Promise<void> {
  for (let i = 0; i < stmts.length; i += BULK_STATEMENTS_PER_BATCH) await d1.batch(stmts.slice(i, i + BULK_STATEMENTS_PER_BATCH));
}

/** A CSV cell as a signal: numbers become numbers, blanks become null (missing). */
export function cellToSignal(cell: string): Signals[string] {
  if (isMissing(cell)) return null;
  const t = cell.trim();
  return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) ? Number(t) : t;
}

export async function accountCount(d1: D1Database): Promise<number> {
  const row = await d1.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>();
  return row?.n ?? 0;
}

/** The demo's CS team: each account gets one owner, fixed by its id. */
export const DEMO_OWNERS = ["Avery Chen", "Blake Okafor", "Casey Novak", "Devon Reyes", "Emerson Falk"];

function ownerFor(id: string): string {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return DEMO_OWNERS[(h >>> 0) % DEMO_OWNERS.length];
}

/**
 * The next renewal implied by the contract: month-to-month renews next month; one- and
 * two-year contracts at the next anniversary of the start date, `tenure` months ago.
 */
export function renewalFor(contract: string, tenureMonths: number, today = new Date()): string | null {
  const term = contract === "Month-to-month" ? 1 : contract === "One year" ? 12 : contract === "Two year" ? 24 : null;
  if (term === null || !Number.isFinite(tenureMonths)) return null;
  const months = term - (tenureMonths % term) || term;
  const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + months, 1));
  return d.toISOString().slice(0, 10);
}

/**
 * Loads the Telco CSV as accounts; the label column stays out of the signals. Telco has no CS
 * metadata, so the demo derives it: ARR = 12 × MonthlyCharges, an owner from a team of five
 * (fixed by the account id) and the renewal date implied by the contract and tenure.
 */
export async function seedTelcoAccounts(d1: D1Database, file: string): Promise<number> {
  const records = csvRecords(parseCsv(readFileSync(file, "utf8")));
  const rows: AccountWrite[] = records.map((r) => {
    const features: Signals = {};
    for (const [k, v] of Object.entries(r)) if (k !== "customerID" && k !== "Churn") features[k] = cellToSignal(v);
    const monthly = Number(r.MonthlyCharges);
    return {
      id: r.customerID,
      name: `Customer ${r.customerID}`,
      arr: Number.isFinite(monthly) ? Math.round(monthly * 12 * 100) / 100 : null,
      owner: ownerFor(r.customerID),
      renewalDate: renewalFor(r.Contract, Number(r.tenure)),
      features,
    };
  });
  const d = db(d1);
  await runInBatches(d, upsertAccountStatements(d, rows));
  return rows.length;
}

/**
 * Scores every account whose current score is missing, stale, or from another model version,
 * with churn and expansion, as one rescoring run recorded with its portfolio figures.
 * `skipChurned` leaves out accounts whose latest outcome is a churn: there is nothing left to
 * predict, and their last score (from before they left) stays their current one.
 */
export async function scoreStaleAccounts(
  d1: D1Database,
  models: ActiveModels,
  source = "start",
  options: { skipChurned?: boolean } = {},
): Promise<{ scored: number; tiers: Record<string, number>; runId: string }> {
  const version = models.churn.artifact.version;
  const startedAt = new Date().toISOString();
  const runId = newRunId();
  const stale = await d1
    .prepare(
      `SELECT a.id, a.features, a.tier FROM accounts a
       LEFT JOIN scores s ON s.id = a.score_id
       WHERE (s.id IS NULL OR s.model_version <> ?1 OR s.scored_at < a.updated_at OR coalesce(s.expansion_version, '') <> ?2)
         AND NOT (?3 AND EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'churned'
           AND NOT EXISTS (SELECT 1 FROM outcomes l WHERE l.account_id = a.id AND l.type <> 'churned' AND l.date > o.date)))`,
    )
    .bind(version, models.expansion?.artifact.version ?? "", options.skipChurned ? 1 : 0)
    .all<{ id: string; features: string; tier: string | null }>();
  const tiers: Record<string, number> = { red: 0, yellow: 0, green: 0, blue: 0 };
  let changes = 0;
  const writes: ScoreWrite[] = stale.results.map((row) => {
    const a = assess(models, JSON.parse(row.features) as Signals);
    tiers[a.tier]++;
    if (row.tier !== null && row.tier !== a.tier) changes++;
    return toScoreWrite(row.id, a, source, startedAt, runId);
  });
  const d = db(d1);
  await runInBatches(d, insertScoreStatements(d, writes));
  // A start that found nothing to rescore is not a rescoring: it records no run.
  if (writes.length) {
    await recordCompletedRun(d1, { id: runId, trigger: source, modelVersion: version, accounts: await accountCount(d1), scored: writes.length, tierChanges: changes, startedAt });
  }
  return { scored: writes.length, tiers, runId };
}

/** Drivers kept on each historical score: enough for a trajectory's "why", at a fraction of the bytes. */
const HISTORY_DRIVERS = 3;

/**
 * Scores every stored signal snapshot older than the newest snapshot day, one day at a time
 * (oldest first, so score ids follow time), each score dated at noon UTC of its snapshot's day
 * and sourced `source`: the score history a trajectory reads. The accounts' current scores are
 * left to `scoreStaleAccounts`, run after this so they stay the newest. No rescoring runs are
 * recorded: those hold the portfolio as it is now, not as it was on those days.
 *
 * @example
 *   await scoreSnapshotHistory(env.DB, { churn });
 *   await scoreStaleAccounts(env.DB, { churn });
 */
export async function scoreSnapshotHistory(d1: D1Database, models: ActiveModels, source = "history"): Promise<{ scores: number; days: number }> {
  const days = await d1
    .prepare("SELECT DISTINCT as_of FROM signal_snapshots WHERE as_of < (SELECT max(as_of) FROM signal_snapshots) ORDER BY as_of")
    .all<{ as_of: string }>();
  const d = db(d1);
  let total = 0;
  let writing = Promise.resolve();
  for (const { as_of: day } of days.results) {
    const rows = await d1.prepare("SELECT account_id, features FROM signal_snapshots WHERE as_of = ?1 ORDER BY account_id").bind(day).all<{ account_id: string; features: string }>();
    const writes = rows.results.map((r) => toScoreWrite(r.account_id, assess(models, JSON.parse(r.features) as Signals, HISTORY_DRIVERS), source, `${day}T12:00:00.000Z`));
    // Scoring a day overlaps the previous day's write; the writes themselves stay in day order.
    await writing;
    writing = runInBatches(d, insertScoreStatements(d, writes));
    total += writes.length;
  }
  await writing;
  return { scores: total, days: days.results.length };
}
