/**
 * The load step of training: checks the options against the CSV, reads and hashes it, reads
 * the label, holds out a slice (stratified, or the newest rows with --time), picks the feature
 * columns and warns about leakage. Too little labelled history stops here: the caller builds
 * a cold-start scorecard instead.
 */
import type { Csv } from "../../shared/csv";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import { type FeatureSpec, isMissing } from "../../shared/model/features";
import { type CsvFile, type Labels, listColumns, parseLabels, readCsvFile } from "../dataset";
import { UsageError } from "../errors";
import { FEEDBACK_COLUMNS } from "../export";
import { type ColumnReport, type ExcludedColumn, inferFeatures, looksLikeDate, looksNumeric } from "../infer";
import { type LeakageWarning, leakageWarnings } from "../leakage";
import { MIN_LABELLED_ROWS } from "../scorecard";
import type { FitInput } from "../select";
import { stratifiedSplit } from "../split";
import type { TrainOptions } from "./types";

const MIN_ROWS = 30;
const MIN_PER_CLASS = 5;

/** Labelled history split into training rows and a hold-out, with the columns to learn from. */
export interface TrainingData {
  file: CsvFile;
  label: string;
  positive: string;
  seed: number;
  holdoutFraction: number;
  horizonDays: number;
  labels: Labels;
  /** --time values of the labelled rows, aligned with `labels.rows`; null without --time. */
  times: Float64Array | null;
  /** Positions into `labels.rows` / `labels.y` of the training rows and of the hold-out. */
  split: { train: number[]; holdout: number[] };
  /** The same rows as CSV row indices, for encoding, and their labels. */
  trainIdx: number[];
  holdIdx: number[];
  yTrain: Uint8Array;
  yHold: Uint8Array;
  holdoutPositives: number;
  /** How every column was read (inferred on the training rows). */
  columns: ColumnReport[];
  features: FeatureSpec[];
  excludedColumns: ExcludedColumn[];
  leakage: LeakageWarning[];
  /** What every fit (folds, hold-out fit, refit) is given. */
  input: FitInput;
}

/** Training data, or the CSV when it has too little labelled history for a model. */
export type Loaded = { data: TrainingData } | { coldStart: { file: CsvFile; labelled: number } };

/**
 * Reads `options.data` and prepares it for model selection; throws `UsageError` naming the
 * flag for anything the user can fix (bad numbers, unknown columns, too little history).
 *
 * @example
 *   const loaded = await load({ data: "telco.csv", label: "Churn", positive: "Yes", id: "customerID" });
 *   if ("data" in loaded) loaded.data.trainIdx.length; // ~80% of the labelled rows
 */
export async function load(options: TrainOptions): Promise<Loaded> {
  const seed = options.seed ?? 42;
  const holdoutFraction = options.holdout ?? 0.2;
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError("--seed", `must be a whole number >= 0, got ${seed}`);
  if (!(holdoutFraction >= 0.05 && holdoutFraction <= 0.5)) throw new UsageError("--holdout", `must be between 0.05 and 0.5, got ${holdoutFraction}`);
  const horizonDays = options.horizon ?? DEFAULT_HORIZON_DAYS;
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > 3650) throw new UsageError("--horizon", `must be a whole number of days from 1 to 3650, got ${horizonDays}`);

  const file = await readCsvFile(options.data, "--data");
  checkColumns(file, options);

  // Cold start: without a label, or with too little labelled history, no model is trusted.
  const labelled = options.label == null ? 0 : file.records.filter((r) => !isMissing(r[options.label!])).length;
  if (options.target === "expansion" && labelled < MIN_LABELLED_ROWS) {
    throw new UsageError("--label", `an expansion model needs at least ${MIN_LABELLED_ROWS} labelled accounts, found ${labelled}; until then the API answers from the expansion scorecard (source "scorecard")`);
  }
  if (options.label == null || labelled < MIN_LABELLED_ROWS) return { coldStart: { file, labelled } };

  const label = options.label;
  const positive = options.positive ?? "";
  const labels = parseLabels(file.csv, label, positive);
  const negatives = labels.rows.length - labels.positives;
  if (labels.rows.length < MIN_ROWS || labels.positives < MIN_PER_CLASS || negatives < MIN_PER_CLASS) {
    throw new UsageError(
      "--data",
      `too little history to train on: ${labels.rows.length} labelled rows, ${labels.positives} with ${label} = "${positive}"; ` +
        `need at least ${MIN_ROWS} rows and ${MIN_PER_CLASS} of each outcome`,
    );
  }

  // Hold-out: the newest rows with --time, else a stratified random slice. Positions index into
  // labels.rows / labels.y; they are mapped to CSV rows for encoding.
  const times = options.time != null ? readTimes(file.csv, options.time, labels.rows) : null;
  const split = times ? timeSplit(times, holdoutFraction) : stratifiedSplit(labels.y, { fraction: holdoutFraction, seed });
  const trainIdx = split.train.map((k) => labels.rows[k]);
  const holdIdx = split.holdout.map((k) => labels.rows[k]);
  const yTrain = Uint8Array.from(split.train, (k) => labels.y[k]);
  const yHold = Uint8Array.from(split.holdout, (k) => labels.y[k]);
  const holdoutPositives = yHold.reduce((n, v) => n + v, 0);
  if (holdoutPositives === 0 || holdoutPositives === yHold.length) {
    throw new UsageError("--holdout", `a ${holdoutFraction} hold-out has ${holdoutPositives ? "no stayers" : "no churned rows"} to measure on; hold out more or add rows`);
  }

  const { columns, features, excludedColumns, exclude } = chooseFeatures(file, options, label, trainIdx);
  const leakage = leakageWarnings(file.csv, { label: label, positive: positive, rows: trainIdx, features });
  for (const w of leakage) options.onWarning?.(`leakage: column "${w.column}" ${w.reason} (ROC-AUC ${w.auc.toFixed(3)} on its own); check it is known before the outcome`);

  const input: FitInput = { csv: file.csv, records: file.records, label: label, id: options.id ?? null, exclude };
  return {
    data: { file, label, positive, seed, holdoutFraction, horizonDays, labels, times, split, trainIdx, holdIdx, yTrain, yHold, holdoutPositives, columns, features, excludedColumns, leakage, input },
  };
}

function checkColumn(header: string[], flag: string, name: string | null | undefined): void {
  if (name != null && !header.includes(name)) throw new UsageError(flag, `no column named "${name}"; the CSV's columns are: ${listColumns(header)}`);
}

/** The --label, --id and --arr columns exist, differ from each other, and ARR is numeric. */
function checkColumns(file: CsvFile, options: TrainOptions): void {
  const { header } = file.csv;
  checkColumn(header, "--label", options.label);
  checkColumn(header, "--id", options.id);
  checkColumn(header, "--arr", options.arr);
  if (options.id != null && options.id === options.label) throw new UsageError("--id", "the id column cannot also be the label");
  if (options.arr != null && options.arr === options.label) throw new UsageError("--arr", "the ARR column cannot also be the label");
  if (options.arr != null) {
    const j = header.indexOf(options.arr);
    const present = file.csv.rows.map((r) => r[j]).filter((v) => !isMissing(v));
    const numeric = present.filter(looksNumeric).length;
    if (present.length === 0 || numeric / present.length < 0.9) {
      throw new UsageError("--arr", `column "${options.arr}" is not numeric (${numeric} of ${present.length} filled values are numbers)`);
    }
  }
}

/**
 * The feature columns inferred on the training rows, less the --time and --exclude columns,
 * with every column left out and why.
 */
function chooseFeatures(file: CsvFile, options: TrainOptions, label: string, trainIdx: number[]): { columns: ColumnReport[]; features: FeatureSpec[]; excludedColumns: ExcludedColumn[]; exclude: string[] } {
  const inference = inferFeatures(file.csv, { label: label, id: options.id ?? null, rows: trainIdx });
  for (const c of options.exclude ?? []) {
    if (!file.csv.header.includes(c)) throw new UsageError("--exclude", `no column named "${c}"; the CSV's columns are: ${listColumns(file.csv.header)}`);
  }
  // CSM feedback is for analysis unless asked for: scoring requests do not carry it (see TrainOptions.useFeedback).
  const feedback: string[] = options.useFeedback ? [] : FEEDBACK_COLUMNS.filter((c) => file.csv.header.includes(c) && !(options.exclude ?? []).includes(c));
  const exclude = [...(options.time != null ? [options.time] : []), ...(options.exclude ?? []), ...feedback];
  const reasonFor = (c: string) =>
    c === options.time ? "the time column (--time)" : feedback.includes(c) ? "CSM feedback: scores never carry it (--use-feedback to learn from it)" : "left out by --exclude";
  const excludedColumns = [...inference.excludedColumns, ...exclude.filter((c) => !inference.excludedColumns.some((e) => e.name === c)).map((name) => ({ name, reason: reasonFor(name) }))];
  const features = inference.features.filter((f) => !exclude.includes(f.name));
  if (features.length === 0) {
    throw new UsageError("--data", `no usable signal columns; every column was left out: ${excludedColumns.map((e) => `${e.name} (${e.reason})`).join("; ")}`);
  }
  return { columns: inference.columns, features, excludedColumns, exclude };
}

/** Values of the --time column for the labelled rows: numbers, or dates as epoch days. */
function readTimes(csv: Csv, column: string, rows: number[]): Float64Array {
  const j = csv.header.indexOf(column);
  if (j < 0) throw new UsageError("--time", `no column named "${column}"; the CSV's columns are: ${listColumns(csv.header)}`);
  return Float64Array.from(rows, (r) => {
    const v = csv.rows[r][j].trim();
    const t = looksNumeric(v) ? Number(v) : looksLikeDate(v) ? Date.parse(v) / 86_400_000 : NaN;
    if (!Number.isFinite(t)) throw new UsageError("--time", `row ${r + 2} has "${v}" in ${column}; it must be a date or a number`);
    return t;
  });
}

/** Oldest rows for training, the newest `fraction` for the hold-out. */
function timeSplit(times: Float64Array, fraction: number): { train: number[]; holdout: number[] } {
  const order = Array.from(times.keys()).sort((a, b) => times[a] - times[b]);
  const cut = Math.round(order.length * (1 - fraction));
  return { train: order.slice(0, cut), holdout: order.slice(cut) };
}
