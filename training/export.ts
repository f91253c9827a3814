/**
 * A leakage-free training set from D1: for every account, the newest signal snapshot on or before
 * `asOf`, labelled by what happened in the `horizon` days after it (`churned` and `expanded`
 * outcomes). Nothing dated after `asOf` reaches a feature: signals come only from
 * `signal_snapshots`, never from the account's current row, and ARR (which changes on
 * expansion) is left out. Accounts that had already churned by `asOf` are dropped.
 *
 * The CSV feeds `npm run train` as is: `--label churned --exclude expanded` for a churn model,
 * or `--label expanded --exclude churned --target expansion` for an expansion model (the other
 * label is a future outcome too, so it must never be a signal).
 *
 * Two optional columns carry CSM feedback (`POST /v1/accounts/{id}/feedback`) known by the cutoff:
 * the account's latest verdict given on or before `asOf` (`csm_verdict`: agree or disagree) and the
 * risk tier the CSM expected (`csm_expected_tier`: the score's own tier when they agreed, the one
 * they stated when they disagreed), blank when there is none. Training reads them as any other
 * column: categorical when filled, left out with a reason when every cell is blank.
 */
import { toCsv } from "../shared/csv";
import { UsageError } from "./errors";
import { addDays } from "../shared/days";

/** Runs SQL with `?1`, `?2` parameters and returns the rows (local D1 or remote wrangler). */
export type Query = (sql: string, params: (string | number)[]) => Promise<Record<string, unknown>[]>;

export interface ExportOptions {
  /** The snapshot day, YYYY-MM-DD. */
  asOf: string;
  /** Days after `asOf` in which an outcome counts (default 90). */
  horizon?: number;
  /** Snapshots older than this many days before `asOf` are too stale to use (default 90). */
  maxAge?: number;
  /** "Today", for the completeness check; tests pin it. */
  today?: string;
}

export interface TrainingSet {
  header: string[];
  rows: (string | number)[][];
  accounts: number;
  churned: number;
  expanded: number;
  /** Accounts left out: churned on or before asOf, or whose newest snapshot is too old. */
  alreadyChurned: number;
  stale: number;
}

const LABELS = ["churned", "expanded"] as const;
/** The optional CSM feedback columns, between the signals and the labels. */
export const FEEDBACK_COLUMNS = ["csm_verdict", "csm_expected_tier"] as const;
const PAGE = 2000;

function checkDay(value: string, flag: string): void {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
    throw new UsageError(flag, `must be a real date as YYYY-MM-DD, got "${value}"`);
  }
}

function cell(v: unknown): string | number {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? v : "";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

/**
 * Builds the training set; pages through accounts by id so a large D1 never returns everything
 * at once. Throws a UsageError naming `--as-of`, `--horizon` or `--max-age` for bad values, and
 * `--as-of` when the horizon has not fully passed (the labels would be incomplete).
 */
export async function exportTrainingSet(query: Query, o: ExportOptions): Promise<TrainingSet> {
  checkDay(o.asOf, "--as-of");
  const horizon = o.horizon ?? 90;
  const maxAge = o.maxAge ?? 90;
  if (!Number.isInteger(horizon) || horizon < 1) throw new UsageError("--horizon", "must be a whole number of days ≥ 1");
  if (!Number.isInteger(maxAge) || maxAge < 0) throw new UsageError("--max-age", "must be a whole number of days ≥ 0");
  const end = addDays(o.asOf, horizon);
  const today = o.today ?? new Date().toISOString().slice(0, 10);
  if (end > today) {
    throw new UsageError("--as-of", `${o.asOf} + ${horizon} days is ${end}, after today (${today}): outcomes in that window are not all known yet; pick an earlier --as-of or a shorter --horizon`);
  }
  const oldest = addDays(o.asOf, -maxAge);

  // Verdicts are stamped with a time: those on the as-of day itself are known by its end.
  const feedbackBefore = addDays(o.asOf, 1);
  const records: { id: string; asOf: string; features: Record<string, unknown>; feedback: unknown[]; churned: boolean; expanded: boolean }[] = [];
  let alreadyChurned = 0;
  let stale = 0;
  let after = "";
  for (;;) {
    const rows = await query(
      `SELECT a.id,
         (SELECT s.as_of FROM signal_snapshots s WHERE s.account_id = a.id AND s.as_of <= ?1 ORDER BY s.as_of DESC LIMIT 1) AS as_of,
         (SELECT s.features FROM signal_snapshots s WHERE s.account_id = a.id AND s.as_of <= ?1 ORDER BY s.as_of DESC LIMIT 1) AS features,
         EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'churned' AND o.date <= ?1) AS gone,
         EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'churned' AND o.date > ?1 AND o.date <= ?2) AS churned,
         EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'expanded' AND o.date > ?1 AND o.date <= ?2) AS expanded,
         (SELECT f.verdict FROM feedback f WHERE f.account_id = a.id AND f.created_at < ?4 ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS csm_verdict,
         (SELECT CASE WHEN f.verdict = 'agree' THEN f.risk_tier ELSE f.expected_tier END FROM feedback f WHERE f.account_id = a.id AND f.created_at < ?4 ORDER BY f.created_at DESC, f.id DESC LIMIT 1) AS csm_expected_tier
       FROM accounts a WHERE a.id > ?3 ORDER BY a.id LIMIT ${PAGE}`,
      [o.asOf, end, after, feedbackBefore],
    );
    for (const r of rows) {
      const asOf = r.as_of as string | null;
      if (!asOf) continue; // no signals yet on that day
      if (Number(r.gone)) {
        alreadyChurned++;
        continue;
      }
      if (asOf < oldest) {
        stale++;
        continue;
      }
      records.push({
        id: String(r.id),
        asOf,
        features: JSON.parse(String(r.features)) as Record<string, unknown>,
        feedback: FEEDBACK_COLUMNS.map((c) => r[c]),
        churned: Number(r.churned) === 1,
        expanded: Number(r.expanded) === 1,
      });
    }
    if (rows.length < PAGE) break;
    after = String(rows[rows.length - 1].id);
  }

  const reserved = new Set<string>(["account_id", "snapshot_as_of", ...FEEDBACK_COLUMNS, ...LABELS]);
  const columns = [...new Set(records.flatMap((r) => Object.keys(r.features)))].filter((c) => !reserved.has(c)).sort();
  const header = ["account_id", "snapshot_as_of", ...columns, ...FEEDBACK_COLUMNS, ...LABELS];
  const rows = records.map((r) => [r.id, r.asOf, ...columns.map((c) => cell(r.features[c])), ...r.feedback.map(cell), r.churned ? "yes" : "no", r.expanded ? "yes" : "no"]);
  return {
    header,
    rows,
    accounts: records.length,
    churned: records.filter((r) => r.churned).length,
    expanded: records.filter((r) => r.expanded).length,
    alreadyChurned,
    stale,
  };
}

export function trainingSetCsv(t: TrainingSet): string {
  return toCsv(t.header, t.rows);
}

/** A Query over a D1 binding (local stack through the platform proxy, or the Worker). */
export function d1Query(d1: D1Database): Query {
  return async (sql, params) => (await d1.prepare(sql).bind(...params).all<Record<string, unknown>>()).results;
}
