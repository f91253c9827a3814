/**
 * Leakage guard: warns when a single column predicts the label almost perfectly on its own.
 * Real churn signals never do (the best single signals reach ROC-AUC 0.7–0.8); a column that
 * does is nearly always recorded after the outcome (a cancellation flag, "days since
 * cancellation", a closed-account status) and would make a model that looks brilliant in
 * training and is useless on live accounts, where that column is not yet filled in.
 *
 * Pure functions over the parsed CSV: the user's raw values, so a warning names their column.
 */
import type { Csv } from "../shared/csv";
import { rocAuc } from "../shared/metrics";
import { type FeatureSpec, isMissing, toNumber } from "../shared/model/features";

export interface LeakageWarning {
  /** The user's column name. */
  column: string;
  /** ROC-AUC of the column alone, direction-free: max(auc, 1 − auc). */
  auc: number;
  /** Why it is suspicious, as a phrase that follows the column's name ("copies the label: ..."). */
  reason: string;
}

/** Labels for some CSV rows: `y[k]` (1 = churned) belongs to CSV row `rows[k]`. */
export interface RowLabels {
  rows: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** The label given by column name instead: rows whose label is missing are skipped. */
export interface LabelColumnOptions {
  label: string;
  /** Label value meaning churned; matched as `train --positive` does (case-insensitive, 1 = 1.0). */
  positive: string;
  /** CSV rows to check (e.g. the training split); all rows when absent. */
  rows?: ArrayLike<number>;
  features: FeatureSpec[];
}

export interface LeakageOptions {
  /** A column alone above this ROC-AUC (either direction) is flagged; default 0.95. */
  threshold?: number;
  /** Fewer labelled rows of either outcome than this and nothing is flagged: AUC would be noise. */
  minPerClass?: number;
}

/** Folds for the out-of-fold level churn rates of categorical columns. */
const FOLDS = 5;

/**
 * Flags each feature column that alone reaches ROC-AUC above `threshold` (default 0.95, either
 * direction) on the labelled rows, or copies the label (two values that map one to one onto
 * churned and stayed, the same or inverted). Numeric and Yes/No columns are scored by their
 * value, with missing values tried at both ends, and by whether they are filled in at all;
 * categorical columns by each level's churn rate computed out of fold (5 folds), so a level is
 * never scored with its own rows' labels. Sorted by ROC-AUC, highest first.
 *
 * Two call shapes: with labels already read (`{ rows, y }`) and the feature spec, or with the
 * label column's name, its churn value and the spec in one options object.
 *
 * @example
 *   const labels = parseLabels(csv, "churned", "yes");
 *   leakageWarnings(csv, labels, features);
 *   // [{ column: "cancel_flag", auc: 1, reason: "copies the label: ..." }]
 *   leakageWarnings(csv, { label: "churned", positive: "yes", rows: trainRows, features });
 */
export function leakageWarnings(csv: Csv, labels: RowLabels, spec: FeatureSpec[], options?: LeakageOptions): LeakageWarning[];
export function leakageWarnings(csv: Csv, label: LabelColumnOptions, options?: LeakageOptions): LeakageWarning[];
export function leakageWarnings(
  csv: Csv,
  labelsOrColumn: RowLabels | LabelColumnOptions,
  specOrOptions?: FeatureSpec[] | LeakageOptions,
  maybeOptions?: LeakageOptions,
): LeakageWarning[] {
  const byColumn = "label" in labelsOrColumn;
  const { rows, y } = byColumn ? readLabels(csv, labelsOrColumn) : labelsOrColumn;
  const spec = byColumn ? labelsOrColumn.features : (specOrOptions as FeatureSpec[]);
  const options = (byColumn ? (specOrOptions as LeakageOptions | undefined) : maybeOptions) ?? {};
  const threshold = options.threshold ?? 0.95;
  const minPerClass = options.minPerClass ?? 5;

  const n = rows.length;
  let positives = 0;
  for (let k = 0; k < n; k++) positives += y[k] === 1 ? 1 : 0;
  if (positives < minPerClass || n - positives < minPerClass) return [];

  const warnings: LeakageWarning[] = [];
  for (const f of spec) {
    const j = csv.header.indexOf(f.name);
    if (j < 0) continue;
    const values: string[] = new Array(n);
    for (let k = 0; k < n; k++) values[k] = csv.rows[rows[k]][j];
    const copy = copiesLabel(f, values, y);
    const best = f.kind === "categorical" ? categoricalAuc(values, y) : orderedAuc(f, values, y);
    if (copy) warnings.push({ column: f.name, auc: Math.max(best.auc, copy.auc), reason: copy.reason });
    else if (best.auc > threshold) warnings.push({ column: f.name, auc: best.auc, reason: best.reason });
  }
  return warnings.sort((a, b) => b.auc - a.auc);
}

/** ROC-AUC in whichever direction is larger. */
function twoSided(y: ArrayLike<number>, scores: ArrayLike<number>): number {
  const auc = rocAuc(y, scores);
  return Number.isNaN(auc) ? 0.5 : Math.max(auc, 1 - auc);
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/**
 * Two values on the filled-in rows, each seen with one outcome only and not the same one: the
 * column is the label under another name (or its inverse). Needs most rows filled in, since a
 * handful of pure rows proves nothing.
 */
function copiesLabel(f: FeatureSpec, values: string[], y: ArrayLike<number>): { auc: number; reason: string } | null {
  const groups = new Map<string, { churned: number; stayed: number }>();
  let filled = 0;
  for (let k = 0; k < values.length; k++) {
    if (isMissing(values[k])) continue;
    filled++;
    const key = f.kind === "numeric" ? String(toNumber(values[k])) : values[k].trim().toLowerCase();
    const g = groups.get(key) ?? { churned: 0, stayed: 0 };
    if (y[k] === 1) g.churned++;
    else g.stayed++;
    groups.set(key, g);
  }
  if (groups.size !== 2 || filled < values.length / 2) return null;
  const [[a, ga], [b, gb]] = [...groups];
  const pure = (g: { churned: number; stayed: number }) => g.churned === 0 || g.stayed === 0;
  if (!pure(ga) || !pure(gb) || (ga.churned > 0) === (gb.churned > 0)) return null;
  const [churnValue, stayValue] = ga.churned > 0 ? [a, b] : [b, a];
  const spelled = (key: string) => JSON.stringify(values.find((v) => !isMissing(v) && (f.kind === "numeric" ? String(toNumber(v)) : v.trim().toLowerCase()) === key)?.trim() ?? key);
  const filledNote = filled < values.length ? ` (on the ${pct(filled / values.length)} of rows where it is filled in)` : "";
  if (f.kind === "boolean") {
    const trueWhenChurned = f.trueValues.some((t) => t.toLowerCase() === churnValue.trim().toLowerCase());
    return {
      auc: 1,
      reason: `${trueWhenChurned ? "is identical to the label" : "is the exact inverse of the label"}: ${spelled(churnValue)} on every churned row and ${spelled(stayValue)} on every other${filledNote}`,
    };
  }
  return { auc: 1, reason: `copies the label: its two values map one to one onto it, ${spelled(churnValue)} = churned and ${spelled(stayValue)} = stayed${filledNote}` };
}

/**
 * Numeric and Yes/No columns: the best of the value with missing rows ranked lowest, ranked
 * highest, and of "is it filled in" alone.
 */
function orderedAuc(f: FeatureSpec, values: string[], y: ArrayLike<number>): { auc: number; reason: string } {
  const n = values.length;
  const x = new Float64Array(n);
  const filled = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    let v = isMissing(values[k]) ? NaN : f.kind === "boolean" ? booleanValue(f.trueValues, f.falseValues, values[k]) : toNumber(values[k]);
    if (!Number.isFinite(v)) v = NaN;
    x[k] = v;
    filled[k] = Number.isNaN(v) ? 0 : 1;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const missing = filled.reduce((a, v) => a + (v ? 0 : 1), 0);
  // Finite stand-ins: rocAuc sorts by subtraction, and Infinity − Infinity is NaN.
  const withMissingAt = (fillValue: number) => x.map((v) => (Number.isNaN(v) ? fillValue : v));
  const valueAuc = missing === n ? 0.5 : Math.max(twoSided(y, withMissingAt(lo - 1)), missing ? twoSided(y, withMissingAt(hi + 1)) : 0);
  const filledAuc = missing ? twoSided(y, filled) : 0.5;
  if (missing && filledAuc >= valueAuc) {
    let churned = 0;
    let churnedFilled = 0;
    let otherFilled = 0;
    for (let k = 0; k < n; k++) {
      if (y[k] === 1) {
        churned++;
        churnedFilled += filled[k];
      } else otherFilled += filled[k];
    }
    return {
      auc: filledAuc,
      reason: `is filled in on ${pct(churnedFilled / churned)} of churned rows and ${pct(otherFilled / (n - churned))} of the others: whether it is present alone tells them apart`,
    };
  }
  const direction = rocAuc(y, withMissingAt(lo - 1)) >= 0.5 ? "higher" : "lower";
  return { auc: valueAuc, reason: `separates churned from stayed almost perfectly on its own (${direction} values mean churn)` };
}

function booleanValue(trueValues: string[], falseValues: string[], value: string): number {
  const s = value.trim().toLowerCase();
  if (trueValues.some((t) => t.toLowerCase() === s)) return 1;
  if (falseValues.some((t) => t.toLowerCase() === s)) return 0;
  return NaN;
}

/**
 * Categorical columns: each row scored by its level's churn rate on the other folds (blank is
 * a level), lightly smoothed toward the overall rate so a level seen once elsewhere is not
 * taken at face value. In-fold rates would flag any column with many small levels.
 */
function categoricalAuc(values: string[], y: ArrayLike<number>): { auc: number; reason: string } {
  const n = values.length;
  const levels = values.map((v) => v.trim());
  const fold = (k: number) => k % FOLDS;
  const counts = Array.from({ length: FOLDS }, () => new Map<string, { n: number; churned: number }>());
  const foldTotals = Array.from({ length: FOLDS }, () => ({ n: 0, churned: 0 }));
  for (let k = 0; k < n; k++) {
    const m = counts[fold(k)];
    const c = m.get(levels[k]) ?? { n: 0, churned: 0 };
    c.n++;
    c.churned += y[k] === 1 ? 1 : 0;
    m.set(levels[k], c);
    foldTotals[fold(k)].n++;
    foldTotals[fold(k)].churned += y[k] === 1 ? 1 : 0;
  }
  const scores = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let levelN = 0;
    let levelChurned = 0;
    let totalN = 0;
    let totalChurned = 0;
    for (let f = 0; f < FOLDS; f++) {
      if (f === fold(k)) continue;
      const c = counts[f].get(levels[k]);
      if (c) {
        levelN += c.n;
        levelChurned += c.churned;
      }
      totalN += foldTotals[f].n;
      totalChurned += foldTotals[f].churned;
    }
    const overall = totalN ? totalChurned / totalN : 0.5;
    scores[k] = (levelChurned + overall) / (levelN + 1);
  }
  return {
    auc: twoSided(y, scores),
    reason: `separates churned from stayed almost perfectly on its own: its levels' churn rates (computed out of fold, ${FOLDS} folds) rank nearly every churned row above every other`,
  };
}

/** Reads the label column for `rows` (all rows by default), skipping missing labels. */
function readLabels(csv: Csv, o: LabelColumnOptions): RowLabels {
  const j = csv.header.indexOf(o.label);
  if (j < 0) return { rows: [], y: [] };
  const want = o.positive.trim().toLowerCase();
  const wantNumber = /^[-+]?(\d+\.?\d*|\.\d+)$/.test(want) ? Number(want) : NaN;
  const candidates = o.rows ?? Array.from(csv.rows.keys());
  const rows: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < candidates.length; k++) {
    const raw = csv.rows[candidates[k]][j];
    if (isMissing(raw)) continue;
    const v = raw.trim().toLowerCase();
    rows.push(candidates[k]);
    y.push(v === want || (!Number.isNaN(wantNumber) && Number(v) === wantNumber) ? 1 : 0);
  }
  return { rows, y };
}
