/**
 * Column type inference for any customer CSV: decides, column by column, whether a signal is
 * numeric, boolean (Yes/No, true/false, 0/1) or categorical, and leaves out what a churn model
 * should not learn from (identifiers, dates, free text, constants), always saying why.
 *
 * Statistics that become part of the model (means, standard deviations, medians, modes,
 * categorical levels) are computed on the training rows only, so the hold-out stays unseen.
 */
import type { Csv } from "../shared/csv";
import { type FeatureSpec, isMissing, toNumber } from "../shared/model/features";

export interface InferOptions {
  /** The label column; never a feature. */
  label: string;
  /** The account id column (`--id`); never a feature. */
  id?: string | null;
  /** Indices of the rows to learn statistics from (the training split); all rows if absent. */
  rows?: ArrayLike<number>;
  /** Most one-hot levels a categorical column may have (the most frequent are kept). */
  maxLevels?: number;
  /** Levels seen in less than this share of rows are left out and encode as all zeros. */
  minLevelShare?: number;
}

/** A column that is not a feature, and why. */
export interface ExcludedColumn {
  name: string;
  reason: string;
}

/** What inference decided for one column, for the training summary. */
export interface ColumnReport {
  name: string;
  kind: FeatureSpec["kind"] | "excluded";
  /** Training rows where the value was missing (blank, NA, N/A, null, ?). */
  missing: number;
  distinct: number;
  /** A short human explanation: levels kept, how missing values are filled, or why excluded. */
  detail: string;
}

export interface Inference {
  features: FeatureSpec[];
  excludedColumns: ExcludedColumn[];
  columns: ColumnReport[];
}

const TRUE_WORDS = new Set(["yes", "y", "true", "t", "1", "1.0"]);
const FALSE_WORDS = new Set(["no", "n", "false", "f", "0", "0.0"]);

// An unsigned or signed decimal, optionally with exponent, after toNumber's `$`/comma stripping.
// Stricter than Number(): "0x1A", "Infinity" and "1e" are not numbers a user meant.
const NUMBER_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

const MONTH = "(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?";
const DATE_RES = [
  /^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i,
  /^\d{4}\/\d{1,2}\/\d{1,2}$/,
  /^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(\s+\d{1,2}:\d{2}(:\d{2})?\s*([ap]m)?)?$/i,
  new RegExp(`^${MONTH}\\s+\\d{1,2}(,?\\s+\\d{2,4})?$`, "i"),
  new RegExp(`^\\d{1,2}[\\s-]${MONTH}[\\s-]\\d{2,4}$`, "i"),
  /^\d{4}-\d{2}$/, // year-month, e.g. a billing period
];

/** True when a column's name reads like an identifier: id, _id, customerID, accountId, uuid. */
export function looksLikeIdName(name: string): boolean {
  return (
    /^(id|uuid|guid|key)$/i.test(name) ||
    /[_\-\s.](id|uuid|guid|key)$/i.test(name) ||
    /^(id|uuid|guid)[_\-\s.]/i.test(name) ||
    // camelCase: customerID, accountId (but not "paid" or "valid")
    /[a-z0-9](ID|Id)$/.test(name) ||
    /uuid|guid/i.test(name)
  );
}

/** True for a cell that reads as a calendar date or timestamp. */
export function looksLikeDate(value: string): boolean {
  return DATE_RES.some((re) => re.test(value));
}

/** True for a cell that parses as a finite number under the encoder's rules. */
export function looksNumeric(value: string): boolean {
  const t = value.trim().replace(/^\$/, "").replace(/,/g, "");
  return NUMBER_RE.test(t) && Number.isFinite(toNumber(value));
}

/**
 * Infers the feature spec of a CSV: every column except the label and `id` is considered, in
 * this order: empty or constant → excluded; two values that read as yes/no, true/false or
 * 1/0 → boolean; an id-like name with nearly all-unique values → excluded; unnamed or
 * row-number columns → excluded; date-like → excluded; ≥95% numeric → numeric; all-unique
 * strings → excluded as identifiers; many distinct values or multi-word text → excluded as
 * free text; otherwise categorical with its most frequent levels.
 *
 * @example
 *   const { features, excludedColumns } = inferFeatures(csv, { label: "Churn", id: "customerID", rows: split.train });
 */
export function inferFeatures(csv: Csv, options: InferOptions): Inference {
  const rows = options.rows ?? Array.from(csv.rows.keys());
  const features: FeatureSpec[] = [];
  const excludedColumns: ExcludedColumn[] = [];
  const columns: ColumnReport[] = [];
  csv.header.forEach((name, j) => {
    const values: string[] = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = csv.rows[rows[r]][j];
    const decision =
      name === options.label
        ? excluded(name, "the label (--label)", values)
        : options.id != null && name === options.id
          ? excluded(name, "the account id (--id)", values)
          : inferColumn(name, values, options);
    columns.push(decision.report);
    if (decision.feature) features.push(decision.feature);
    else excludedColumns.push({ name, reason: decision.report.detail });
  });
  return { features, excludedColumns, columns };
}

interface Decision {
  feature: FeatureSpec | null;
  report: ColumnReport;
}

function excluded(name: string, reason: string, values: string[], counts?: Map<string, number>): Decision {
  const missing = values.filter((v) => isMissing(v)).length;
  return { feature: null, report: { name, kind: "excluded", missing, distinct: counts?.size ?? new Set(values).size, detail: reason } };
}

function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function example(counts: Map<string, number>): string {
  const first = counts.keys().next().value ?? "";
  return JSON.stringify(first.length > 30 ? `${first.slice(0, 30)}...` : first);
}

/** Decides one column's type from its training-row values (raw CSV strings). */
function inferColumn(name: string, values: string[], options: InferOptions): Decision {
  const maxLevels = options.maxLevels ?? 50;
  const minLevelShare = options.minLevelShare ?? 0.005;
  const present: string[] = [];
  for (const v of values) if (!isMissing(v)) present.push(v.trim());
  const missing = values.length - present.length;
  const counts = new Map<string, number>();
  for (const v of present) counts.set(v, (counts.get(v) ?? 0) + 1);
  const distinct = counts.size;
  const report = (kind: ColumnReport["kind"], detail: string): ColumnReport => ({ name, kind, missing, distinct, detail });
  const exclude = (detail: string): Decision => ({ feature: null, report: report("excluded", detail) });
  const uniqueShare = present.length ? distinct / present.length : 0;

  if (present.length === 0) return exclude("no values: every value is missing");
  if (distinct === 1) return exclude(`constant: every value is ${example(counts)}`);

  const missingNote = missing ? `; ${missing} missing (${pct(missing / values.length)})` : "";

  // Boolean: exactly the spellings of one yes/no pair, as written in the data (Yes/No, 0/1, ...).
  const lower = [...counts.keys()].map((v) => v.toLowerCase());
  if (lower.every((v) => TRUE_WORDS.has(v) || FALSE_WORDS.has(v)) && lower.some((v) => TRUE_WORDS.has(v)) && lower.some((v) => FALSE_WORDS.has(v))) {
    const byCount = [...counts].sort((a, b) => b[1] - a[1]);
    const trueValues = byCount.filter(([v]) => TRUE_WORDS.has(v.toLowerCase())).map(([v]) => v);
    const falseValues = byCount.filter(([v]) => FALSE_WORDS.has(v.toLowerCase())).map(([v]) => v);
    const trues = trueValues.reduce((n, v) => n + (counts.get(v) ?? 0), 0);
    const fill = trues > present.length - trues ? 1 : 0;
    return {
      feature: { name, kind: "boolean", trueValues, falseValues, fill },
      report: report("boolean", `${trueValues.join("/")} = 1, ${falseValues.join("/")} = 0${missing ? `${missingNote}, filled with ${fill ? trueValues[0] : falseValues[0]}` : ""}`),
    };
  }

  if (looksLikeIdName(name) && uniqueShare >= 0.95) {
    return exclude(`identifier: the name looks like an id and ${pct(uniqueShare)} of values are unique`);
  }
  if (name === "" || /^unnamed:?\s*\d*$/i.test(name)) return exclude("unnamed column (usually a saved row index)");

  const dates = present.filter(looksLikeDate).length;
  if (dates / present.length >= 0.9) {
    return exclude(`date-like (e.g. ${example(counts)}); derive a number such as days since or until it, then retrain`);
  }

  const numbers: number[] = [];
  for (const v of present) if (looksNumeric(v)) numbers.push(toNumber(v));
  if (numbers.length / present.length >= 0.95) {
    if (isRowNumber(numbers, uniqueShare)) return exclude("row number: unique whole numbers increasing row by row");
    return numeric(name, numbers, present.length - numbers.length, missing, values.length, distinct);
  }

  const words = present.reduce((n, v) => n + v.split(/\s+/).length, 0) / present.length;
  if (uniqueShare >= 0.99 && present.length >= 20) {
    return words >= 3
      ? exclude(`free text: ${pct(uniqueShare)} of values are unique`)
      : exclude(`identifier: every value is different (e.g. ${example(counts)})`);
  }
  if (distinct > maxLevels && (uniqueShare > 0.5 || words >= 3)) {
    return exclude(`free text or high cardinality: ${distinct} distinct values in ${present.length} rows`);
  }

  // In a text column, placeholder words such as "NA" are often real values ("NA" = North America)
  // and otherwise mark missingness worth learning from, so only blank cells count as missing here.
  const levelCounts = new Map<string, number>();
  let blanks = 0;
  for (const v of values) {
    const t = v.trim();
    if (t === "") blanks++;
    else levelCounts.set(t, (levelCounts.get(t) ?? 0) + 1);
  }
  const filled = values.length - blanks;
  const minCount = Math.max(2, Math.ceil(minLevelShare * filled));
  const ranked = [...levelCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = ranked.filter(([, c]) => c >= minCount).slice(0, maxLevels);
  const coverage = kept.reduce((n, [, c]) => n + c, 0) / filled;
  if (kept.length === 0) return exclude(`high cardinality: no value occurs in ${minCount} or more rows`);
  if (coverage < 0.5) {
    return exclude(`high cardinality: ${distinct} distinct values; the ${kept.length} most common cover only ${pct(coverage)} of rows`);
  }
  const left = levelCounts.size - kept.length;
  const blankNote = blanks ? `; ${blanks} blank (${pct(blanks / values.length)})` : "";
  return {
    // A missing value encodes as each level's share of the filled rows, i.e. the average account:
    // its SHAP contribution is then zero instead of the "rare level" effect of all zeros.
    feature: { name, kind: "categorical", levels: kept.map(([v]) => v), fill: kept.map(([, c]) => c / filled) },
    report: {
      name,
      kind: "categorical",
      missing: blanks,
      distinct: levelCounts.size,
      detail: `${kept.length} levels (${kept.slice(0, 4).map(([v]) => v).join(", ")}${kept.length > 4 ? ", ..." : ""})${left ? `, ${left} rare value${left === 1 ? "" : "s"} (${pct(1 - coverage)} of rows) encode as none` : ""}${blankNote}`,
    },
  };
}

/** Unique whole numbers that rise with every row: a row counter, not a signal. */
function isRowNumber(numbers: number[], uniqueShare: number): boolean {
  if (numbers.length < 20 || uniqueShare < 1) return false;
  for (let i = 0; i < numbers.length; i++) {
    if (!Number.isInteger(numbers[i]) || (i > 0 && numbers[i] <= numbers[i - 1])) return false;
  }
  return true;
}

function numeric(name: string, numbers: number[], unreadable: number, missing: number, total: number, distinct: number): Decision {
  const n = numbers.length;
  let mean = 0;
  for (const v of numbers) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of numbers) ss += (v - mean) ** 2;
  let std = Math.sqrt(ss / n);
  // A (near-)constant column would divide by zero; with std 1 it encodes as a harmless offset.
  if (!(std > 1e-12)) std = 1;
  const sorted = Float64Array.from(numbers).sort();
  const fill = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const gaps = missing + unreadable;
  // Non-negative counts and amounts (tenure, logins, spend) usually act with diminishing
  // returns; a log1p companion column lets a linear model bend, and SHAP still sums exactly.
  const log = sorted[0] >= 0 && distinct > 2 ? meanStd(numbers.map((v) => Math.log1p(v))) : undefined;
  const detail =
    `mean ${round(mean)}, sd ${round(std)}${log ? " (+ log1p)" : ""}` +
    (missing ? `; ${missing} missing (${pct(missing / total)})` : "") +
    (unreadable ? `; ${unreadable} unreadable` : "") +
    (gaps ? `, filled with median ${round(fill)}` : "");
  return { feature: { name, kind: "numeric", mean, std, fill, ...(log ? { log } : {}) }, report: { name, kind: "numeric", missing, distinct, detail } };
}

function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return { mean, std: std > 1e-12 ? std : 1 };
}

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}
