/**
 * Reading a customer CSV for training or evaluation: the file's bytes and sha256 (so a model
 * records exactly which data it came from), the label column turned into 0/1, and rows encoded
 * into a dense matrix with the shared encoder the Worker uses.
 */
import { readFileSync } from "node:fs";
import { type Csv, csvRecords, parseCsv } from "../shared/csv";
import { sha256Hex } from "../shared/hash";
import { encodedNames, encodeRow, type FeatureSpec, isMissing } from "../shared/model/features";
import { UsageError } from "./errors";

/** A CSV file as read from disk. */
export interface CsvFile {
  path: string;
  csv: Csv;
  /** Rows as objects keyed by the header's column names. */
  records: Record<string, string>[];
  /** sha256 of the file's bytes, as `sha256sum` prints it. */
  sha256: string;
  bytes: number;
}

/**
 * Reads and parses a CSV file with a header row. `flag` names the CLI option the path came
 * from, so a missing or malformed file is reported against it.
 *
 * @example
 *   const file = await readCsvFile("accounts.csv");
 *   file.sha256; // as `sha256sum accounts.csv` prints it
 */
export async function readCsvFile(path: string, flag = "--data"): Promise<CsvFile> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(flag, `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let csv: Csv;
  try {
    csv = parseCsv(bytes.toString("utf8"));
  } catch (e) {
    throw new UsageError(flag, `${path} is not a readable CSV: ${(e as Error).message}`);
  }
  const dupes = csv.header.filter((h, i) => csv.header.indexOf(h) !== i);
  if (dupes.length) throw new UsageError(flag, `${path} has duplicate column names: ${[...new Set(dupes)].join(", ")}`);
  return { path, csv, records: csvRecords(csv), sha256: await sha256Hex(bytes), bytes: bytes.length };
}

/** The label column read as 0/1, for the rows whose label is present. */
export interface Labels {
  column: string;
  positive: string;
  /** Indices (into the CSV rows) of the rows with a label, ascending. */
  rows: number[];
  /** 1 where the row's label equals the positive value, else 0; parallel to `rows`. */
  y: Uint8Array;
  positives: number;
  /** Rows dropped because their label was blank, NA, null, ... */
  missing: number;
  /** How often each label spelling occurs, most frequent first. */
  values: { value: string; count: number }[];
}

/** Lists a CSV's columns for an error message. */
export function listColumns(header: string[]): string {
  return header.map((h) => (h === "" ? '""' : h)).join(", ");
}

/**
 * Reads the label column as 0/1: a row is positive when its label equals `positive`
 * (trimmed, case-insensitive; numerically for numbers, so 1 matches 1.0), negative for any
 * other value, and dropped (and counted) when the label is missing. Throws a UsageError
 * naming `--label` or `--positive` when the column does not exist or the positive value never
 * occurs.
 */
export function parseLabels(csv: Csv, column: string, positive: string): Labels {
  const j = csv.header.indexOf(column);
  if (j < 0) throw new UsageError("--label", `no column named "${column}"; the CSV's columns are: ${listColumns(csv.header)}`);
  const want = positive.trim().toLowerCase();
  // "1" should match "1.0" in a numeric label column; text compares case-insensitively.
  const wantNumber = /^[-+]?(\d+\.?\d*|\.\d+)$/.test(want) ? Number(want) : NaN;
  const isPositive = (value: string) => value.toLowerCase() === want || (!Number.isNaN(wantNumber) && Number(value) === wantNumber);
  const rows: number[] = [];
  const y: number[] = [];
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < csv.rows.length; i++) {
    const raw = csv.rows[i][j];
    if (isMissing(raw)) {
      missing++;
      continue;
    }
    const value = raw.trim();
    counts.set(value, (counts.get(value) ?? 0) + 1);
    rows.push(i);
    y.push(isPositive(value) ? 1 : 0);
  }
  const values = [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count);
  const seen = values.slice(0, 10).map((v) => `${v.value} (${v.count})`).join(", ") + (values.length > 10 ? ", ..." : "");
  if (rows.length === 0) throw new UsageError("--label", `column "${column}" has no values in any row`);
  const positives = y.reduce((n, v) => n + v, 0);
  if (positives === 0) throw new UsageError("--positive", `no row has ${column} = "${positive}"; values seen: ${seen}`);
  if (positives === rows.length) throw new UsageError("--positive", `every labelled row has ${column} = "${positive}"; a model needs both outcomes (values seen: ${seen})`);
  return { column, positive, rows, y: Uint8Array.from(y), positives, missing, values };
}

/** An encoded feature matrix, row-major. */
export interface Matrix {
  x: Float64Array;
  rows: number;
  cols: number;
  /** How many of the encoded rows had each feature imputed (missing or unreadable). */
  imputed: Map<string, number>;
}

/**
 * Encodes the given records (all, or those at `indices`) into a row-major matrix with the
 * shared encoder, so training sees exactly the numbers the Worker will compute.
 */
export function encodeMatrix(spec: FeatureSpec[], records: Record<string, string>[], indices?: ArrayLike<number>, missingAsNaN = false): Matrix {
  const cols = encodedNames(spec).length;
  const n = indices ? indices.length : records.length;
  const x = new Float64Array(n * cols);
  const imputed = new Map<string, number>();
  for (let r = 0; r < n; r++) {
    const names = encodeRow(spec, records[indices ? indices[r] : r], x, r * cols, missingAsNaN);
    for (const name of names) imputed.set(name, (imputed.get(name) ?? 0) + 1);
  }
  return { x, rows: n, cols, imputed };
}

/** Column means of a row-major matrix: the artifact's SHAP baseline. */
export function columnMeans(m: Matrix): number[] {
  const means = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++) for (let c = 0; c < m.cols; c++) means[c] += m.x[r * m.cols + c];
  return Array.from(means, (s) => (m.rows ? s / m.rows : 0));
}

/** Rows of a row-major matrix and their labels, gathered into a new matrix (e.g. one split). */
export interface RowSubset {
  x: Float64Array;
  y: Uint8Array;
  rows: number;
}

/**
 * Copies the rows `rows` of `x` (`cols` wide) and their labels out of the full data.
 *
 * @example
 *   const train = takeRows(d.x, d.y, d.cols, split.train);
 */
export function takeRows(x: Float64Array, y: ArrayLike<number>, cols: number, rows: ArrayLike<number>): RowSubset {
  const out = new Float64Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) out.set(x.subarray(rows[i] * cols, rows[i] * cols + cols), i * cols);
  return { x: out, y: Uint8Array.from({ length: rows.length }, (_, i) => y[rows[i]]), rows: rows.length };
}
