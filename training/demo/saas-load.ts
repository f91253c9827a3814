/**
 * The synthetic SaaS portfolio (saas.ts) in the local D1, for `npm start -- --demo saas`: its
 * accounts, a year of weekly signal snapshots and its outcomes, and a churn model trained on
 * that history exactly as `npm run export-training` + `npm run train` would build one.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type AccountWrite, bulkDatedSnapshotStatements, bulkOutcomeStatements, bulkUpsertAccountStatements, type DatedSnapshot, type OutcomeWrite } from "../../shared/db/accounts";
import { d1Query, exportTrainingSet, type TrainingSet, trainingSetCsv } from "../export";
import { runD1Batches } from "../seed";
import { train } from "../train";
import type { TrainResult } from "../train/types";
import type { SaasPortfolio } from "./saas";

/** Days after a snapshot in which a churn counts: the label of the demo's model (and export's default). */
export const SAAS_HORIZON_DAYS = 90;
/** Every this many weeks back from the newest snapshot is one as-of day of the training set. */
const AS_OF_EVERY_WEEKS = 4;

const DAY_MS = 86_400_000;
const addDays = (day: string, days: number) => new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

export interface LoadedCounts {
  accounts: number;
  snapshots: number;
  outcomes: number;
}

/**
 * Writes the portfolio: each account with its latest snapshot's signals as its current ones
 * (churned accounts keep their last signals and their churn outcome), every weekly snapshot on
 * its own day, and every outcome. Idempotent: loading it again rewrites the same rows.
 *
 * @example
 *   const counts = await loadSaasPortfolio(env.DB, generateSaasPortfolio());
 *   counts.snapshots; // ~147,000
 */
export async function loadSaasPortfolio(d1: D1Database, p: SaasPortfolio): Promise<LoadedCounts> {
  const accounts: AccountWrite[] = p.accounts.map((a) => ({
    id: a.id,
    name: a.name,
    arr: a.arr,
    owner: a.owner,
    renewalDate: a.renewalDate,
    features: a.snapshots[a.snapshots.length - 1].signals,
  }));
  const snapshots: DatedSnapshot[] = p.accounts.flatMap((a) => a.snapshots.map((s) => ({ accountId: a.id, asOf: s.asOf, features: s.signals })));
  const outcomes: OutcomeWrite[] = p.accounts.flatMap((a) => a.outcomes.map((o) => ({ accountId: a.id, ...o })));
  // bulkUpsert's own snapshot would be today's copy of the current signals: the history has it.
  await runD1Batches(d1, bulkUpsertAccountStatements(d1, accounts, { snapshots: false }));
  await runD1Batches(d1, bulkDatedSnapshotStatements(d1, snapshots));
  await runD1Batches(d1, bulkOutcomeStatements(d1, outcomes));
  return { accounts: accounts.length, snapshots: snapshots.length, outcomes: outcomes.length };
}

/**
 * The as-of days a leakage-free training set can use, oldest first: the newest weekly snapshot
 * day whose horizon has fully passed by `today`, then every 4 weeks back to the oldest.
 *
 * @example
 *   trainingAsOfDays("2025-06-09", "2026-06-01", "2026-06-01"); // ["2025-06-30", ..., "2026-03-02"]
 */
export function trainingAsOfDays(oldest: string, newest: string, today: string, horizon = SAAS_HORIZON_DAYS): string[] {
  let day = newest;
  while (addDays(day, horizon) > today) day = addDays(day, -7);
  const days: string[] = [];
  for (; day >= oldest; day = addDays(day, -AS_OF_EVERY_WEEKS * 7)) days.unshift(day);
  return days;
}

/**
 * `exportTrainingSet` (the code behind `npm run export-training`) at each as-of day, stacked
 * into one set: each row is an account's snapshot on or before that day, labelled by what
 * happened in the 90 days after it, so the model learns from the whole year without seeing
 * anything later than each row's own day.
 *
 * @example
 *   const set = await exportStackedTrainingSet(env.DB, trainingAsOfDays("2025-06-09", "2026-06-01", "2026-06-01"));
 */
export async function exportStackedTrainingSet(d1: D1Database, asOfDays: string[], today?: string): Promise<TrainingSet> {
  const sets: TrainingSet[] = [];
  for (const asOf of asOfDays) sets.push(await exportTrainingSet(d1Query(d1), { asOf, horizon: SAAS_HORIZON_DAYS, today }));
  const header = sets[0].header;
  for (const s of sets) if (s.header.join() !== header.join()) throw new Error(`the snapshots' signals differ between as-of days (${s.header.join()} vs ${header.join()})`);
  const sum = (k: "accounts" | "churned" | "expanded" | "alreadyChurned" | "stale") => sets.reduce((n, s) => n + s[k], 0);
  return { header, rows: sets.flatMap((s) => s.rows), accounts: sum("accounts"), churned: sum("churned"), expanded: sum("expanded"), alreadyChurned: sum("alreadyChurned"), stale: sum("stale") };
}

/**
 * Exports the stacked training set from D1 to `out`/training.csv and trains a churn model on it
 * into `out`, validated on the newest as-of days (`--time snapshot_as_of`), as
 * `npm run train -- --data training.csv --label churned --positive yes --id account_id
 * --exclude expanded --time snapshot_as_of --horizon 90` would.
 *
 * @example
 *   const { summary } = await trainSaasModel(env.DB, ".foresight/models/saas");
 */
export async function trainSaasModel(d1: D1Database, out: string, today = new Date().toISOString().slice(0, 10)): Promise<TrainResult & { set: TrainingSet; data: string }> {
  const span = await d1.prepare("SELECT min(as_of) AS oldest, max(as_of) AS newest FROM signal_snapshots").first<{ oldest: string | null; newest: string | null }>();
  if (!span?.oldest || !span.newest) throw new Error("no signal snapshots in D1: load the SaaS demo first");
  const days = trainingAsOfDays(span.oldest, span.newest, today);
  if (days.length === 0) throw new Error(`the snapshots (${span.oldest} to ${span.newest}) are too recent for a ${SAAS_HORIZON_DAYS}-day label by ${today}`);
  const set = await exportStackedTrainingSet(d1, days, today);
  mkdirSync(out, { recursive: true });
  const data = path.join(out, "training.csv");
  writeFileSync(data, trainingSetCsv(set));
  // A 20-second search: the demo should start in about a minute; the first linear and tree candidates always run.
  const result = await train({ data, label: "churned", positive: "yes", id: "account_id", exclude: ["expanded"], time: "snapshot_as_of", horizon: SAAS_HORIZON_DAYS, budget: 20, out });
  return { ...result, set, data };
}
