/**
 * Demo data and bulk scoring for `npm start`, against the local D1 through the platform proxy:
 * loads the Telco data set as accounts (ARR = 12 × MonthlyCharges) and scores every account
 * whose latest score is missing, stale, or from another model version.
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
 */
export async function scoreStaleAccounts(d1: D1Database, models: ActiveModels, source = "start"): Promise<{ scored: number; tiers: Record<string, number>; runId: string }> {
  const version = models.churn.artifact.version;
  const startedAt = new Date().toISOString();
  const runId = newRunId();
  const stale = await d1
    .prepare(
      `SELECT a.id, a.features, a.tier FROM accounts a
       LEFT JOIN scores s ON s.id = a.score_id
       WHERE s.id IS NULL OR s.model_version <> ?1 OR s.scored_at < a.updated_at OR coalesce(s.expansion_version, '') <> ?2`,
    )
    .bind(version, models.expansion?.artifact.version ?? "")
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
