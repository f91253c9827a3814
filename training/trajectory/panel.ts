/**
 * Reading a health panel for trajectory training: a CSV with one row per account per cutoff
 * (id, YYYY-MM-DD date, health 0–100 or a churn model to compute it, optional renewal, numeric
 * signals), grouped into each account's path, oldest first, in the shapes `trajectoryInputs`
 * reads. Problems the user can fix are UsageErrors naming the flag.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { healthOf } from "../../shared/cs/trajectory";
import { parseArtifact } from "../../shared/model/artifact";
import { isMissing, toNumber } from "../../shared/model/features";
import { Scorer } from "../../shared/model/scorer";
import { dayNumber, daysUntil, type HealthPoint, type SignalPoint } from "../../shared/model/trajectory";
import { type CsvFile, listColumns, readCsvFile } from "../dataset";
import { UsageError } from "../errors";

/** Columns with a fixed meaning in a panel (besides the id and date columns). */
export const HEALTH_COLUMN = "health";
export const RENEWAL_COLUMNS = ["days_to_renewal", "renewal_date"] as const;

export interface PanelOptions {
  data: string;
  /** Account id column (default `account_id`). */
  id?: string | null;
  /** Cutoff date column, YYYY-MM-DD (default `as_of`). */
  date?: string | null;
  /** Directory of a churn model.json that computes health when the panel has no health column. */
  healthModel?: string | null;
  /** Columns never to use as signals (a label, say: a future outcome would leak). */
  exclude?: readonly string[];
}

export interface PanelRow {
  date: string;
  day: number;
  /** 0–100; NaN when the row's health is blank. */
  health: number;
  daysToRenewal: number;
  signals: Record<string, number>;
}

/** One account's rows, oldest first, with the same rows as `trajectoryInputs` histories. */
export interface PanelAccount {
  id: string;
  rows: PanelRow[];
  healthHistory: HealthPoint[];
  signalHistory: SignalPoint[];
}

export interface Panel {
  file: CsvFile;
  idColumn: string;
  dateColumn: string;
  signals: string[];
  /** Columns that are neither roles nor numeric signals, with why. */
  ignored: { name: string; reason: string }[];
  accounts: PanelAccount[];
  rows: number;
  /** Distinct cutoff days, ascending. */
  cutoffs: number[];
  health: { source: "column" } | { source: "model"; version: string };
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A churn model's scorer from DIR/model.json, refusing an expansion model or anything else. */
function healthScorer(dir: string): Scorer {
  const file = path.join(dir, "model.json");
  if (!existsSync(file)) throw new UsageError("--health-model", `${file} does not exist; train a churn model with npm run train -- --out ${dir}`);
  let scorer: Scorer;
  try {
    scorer = new Scorer(parseArtifact(JSON.parse(readFileSync(file, "utf8"))));
  } catch (e) {
    throw new UsageError("--health-model", `${file}: ${(e as Error).message}`);
  }
  if (scorer.artifact.target !== "churn") throw new UsageError("--health-model", `${file} is a ${scorer.artifact.target} model; health comes from a churn model`);
  return scorer;
}

/** Whether every present value of the column reads as a finite number (and one is present). */
function numericColumn(records: Record<string, string>[], column: string): { numeric: boolean; example?: string } {
  let present = 0;
  for (const r of records) {
    const v = r[column];
    if (isMissing(v)) continue;
    if (!Number.isFinite(toNumber(v))) return { numeric: false, example: v };
    present++;
  }
  return { numeric: present > 0 };
}

/** A health cell: NaN when blank, else a number from 0 to 100 or a UsageError. */
function readHealth(value: string | undefined, line: number): number {
  if (isMissing(value)) return NaN;
  const health = toNumber(value);
  if (!(health >= 0 && health <= 100)) throw new UsageError("--data", `row ${line}: health ${JSON.stringify(value)} is not a number from 0 to 100`);
  return health;
}

/**
 * Reads and checks a panel CSV and groups it by account.
 *
 * @example
 *   const panel = await readPanel({ data: "panel.csv" }); // id account_id, date as_of, a health column
 *   panel.accounts[0].rows[0]; // { date: "2026-01-05", day: 20458, health: 72, daysToRenewal: 120, signals: { logins_30d: 14 } }
 */
export async function readPanel(options: PanelOptions): Promise<Panel> {
  const file = await readCsvFile(options.data);
  const { header } = file.csv;
  const idColumn = options.id ?? "account_id";
  const dateColumn = options.date ?? "as_of";
  for (const [flag, column] of [["--id", idColumn], ["--date", dateColumn]] as const) {
    if (!header.includes(column)) throw new UsageError(flag, `no column named "${column}"; the panel's columns are: ${listColumns(header)}`);
  }
  const hasHealth = header.includes(HEALTH_COLUMN);
  if (hasHealth && options.healthModel) throw new UsageError("--health-model", `the panel has a "${HEALTH_COLUMN}" column already; leave out --health-model or the column`);
  if (!hasHealth && !options.healthModel) throw new UsageError("--health-model", `the panel has no "${HEALTH_COLUMN}" column (0–100); add one, or pass a churn model to compute it from the signals`);
  const scorer = options.healthModel ? healthScorer(options.healthModel) : null;
  const renewal = RENEWAL_COLUMNS.find((c) => header.includes(c)) ?? null;

  const exclude = options.exclude ?? [];
  const unknown = exclude.find((c) => !header.includes(c));
  if (unknown !== undefined) throw new UsageError("--exclude", `no column named "${unknown}"; the panel's columns are: ${listColumns(header)}`);
  const roles = new Set<string>([idColumn, dateColumn, HEALTH_COLUMN, ...RENEWAL_COLUMNS]);
  const signals: string[] = [];
  const ignored: Panel["ignored"] = RENEWAL_COLUMNS.filter((c) => c !== renewal && header.includes(c)).map((name) => ({ name, reason: `${renewal} gives days to renewal` }));
  for (const name of header) {
    if (roles.has(name)) continue;
    if (exclude.includes(name)) {
      ignored.push({ name, reason: "excluded (--exclude)" });
      continue;
    }
    const { numeric, example } = numericColumn(file.records, name);
    if (numeric) signals.push(name);
    else ignored.push({ name, reason: example === undefined ? "always missing" : `not numeric (e.g. ${JSON.stringify(example)})` });
  }

  const byAccount = new Map<string, PanelRow[]>();
  file.records.forEach((r, i) => {
    const line = i + 2;
    const id = (r[idColumn] ?? "").trim();
    if (id === "") throw new UsageError("--id", `row ${line} has no account id in "${idColumn}"`);
    const date = (r[dateColumn] ?? "").trim();
    if (!DAY.test(date) || !Number.isFinite(dayNumber(date))) throw new UsageError("--date", `row ${line}: "${date}" in "${dateColumn}" is not a YYYY-MM-DD date`);
    const health = scorer ? healthOf(scorer.probability(r)) : readHealth(r[HEALTH_COLUMN], line);
    const raw = renewal ? r[renewal] : undefined;
    const daysToRenewal = isMissing(raw) ? NaN : renewal === "renewal_date" ? daysUntil(date, raw) : toNumber(raw);
    const values: Record<string, number> = {};
    for (const s of signals) values[s] = isMissing(r[s]) ? NaN : toNumber(r[s]);
    const rows = byAccount.get(id) ?? [];
    rows.push({ date, day: dayNumber(date), health, daysToRenewal: Number.isFinite(daysToRenewal) ? daysToRenewal : NaN, signals: values });
    byAccount.set(id, rows);
  });

  const accounts: PanelAccount[] = [];
  const cutoffs = new Set<number>();
  for (const [id, rows] of byAccount) {
    rows.sort((a, b) => a.day - b.day);
    rows.forEach((row, k) => {
      if (k > 0 && rows[k - 1].day === row.day) throw new UsageError("--data", `account ${id} has two rows dated ${row.date}`);
      cutoffs.add(row.day);
    });
    accounts.push({ id, rows, healthHistory: rows.map((r) => ({ date: r.date, health: r.health })), signalHistory: rows.map((r) => ({ date: r.date, signals: r.signals })) });
  }
  return {
    file,
    idColumn,
    dateColumn,
    signals,
    ignored,
    accounts,
    rows: file.records.length,
    cutoffs: [...cutoffs].sort((a, b) => a - b),
    health: scorer ? { source: "model", version: scorer.artifact.version } : { source: "column" },
  };
}
