/**
 * Trains a churn model from a customer CSV, end to end: read and hash the file, hold out a
 * slice (stratified, or the newest rows with --time), infer feature types, pick the best model
 * family by cross-validation within a time budget, calibrate it on out-of-fold predictions,
 * measure it once on the hold-out with the same plain-TS scorer the Worker runs, refit it on all
 * rows and build the `model.json` artifact. The train CLI and the start script call `train()`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Csv } from "../shared/csv";
import { atThreshold, brier, logLoss, prAuc, rocAuc } from "../shared/metrics";
import { DEFAULT_HORIZON_DAYS, DEFAULT_TIERS, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelArtifact, type TierThresholds } from "../shared/model/artifact";
import { calibrate } from "../shared/model/calibration";
import { gbdtSizeBytes } from "../shared/model/gbdt";
import { encodedNames, isMissing } from "../shared/model/features";
import { buildReference } from "../shared/model/reference";
import { type Score, Scorer } from "../shared/model/scorer";
import { calibrationReport, fitCalibration, intervalCoverage } from "./calibrate";
import { type CsvFile, listColumns, parseLabels, readCsvFile, sha256Hex } from "./dataset";
import { UsageError } from "./errors";
import { type ColumnReport, type ExcludedColumn, inferFeatures, looksLikeDate, looksNumeric } from "./infer";
import { type LeakageWarning, leakageWarnings } from "./leakage";
import { count, fixed, formatPairs, formatQuality, formatTable, formatTiers, percent, type TierRow, tierTable } from "./report";
import { type Family, type FitInput, type LeaderboardRow, fitRecipe, selectModel } from "./select";
import { buildScorecard, MIN_LABELLED_ROWS } from "./scorecard";
import { stratifiedSplit } from "./split";

export interface TrainOptions {
  /** Path of the CSV to learn from (`--data`). */
  data: string;
  /**
   * Label column (`--label`) and the value meaning "churned" (`--positive`). Without a label, or
   * with fewer than 200 labelled rows, `train` builds a transparent cold-start scorecard instead.
   */
  label?: string | null;
  positive?: string | null;
  /** Account id column (`--id`): never a feature, recorded in the artifact. */
  id?: string | null;
  /** Annual recurring revenue column (`--arr`), recorded so the app can size revenue at risk. */
  arr?: string | null;
  /** Directory to write `model.json` and `model.json.sha256` into (`--out`); skipped if absent. */
  out?: string | null;
  /** Seeds the hold-out split and the fit (`--seed`, default 42). */
  seed?: number;
  /** Share of labelled rows held out for the metrics (`--holdout`, default 0.2). */
  holdout?: number;
  target?: ModelArtifact["target"];
  /** Column whose order is time (`--time`): train on older rows, validate on newer ones. */
  time?: string | null;
  /** Columns never used as features (`--exclude`), e.g. another target's label. */
  exclude?: string[];
  /** Cross-validation folds for model selection (`--folds`, default 5). */
  folds?: number;
  /** Seconds the hyperparameter search may spend (`--budget`, default 120). */
  budget?: number;
  /** Only this family (`--family`); default: the best by cross-validation. */
  family?: Family;
  /** Lowest red threshold whose out-of-fold precision reaches this (`--red-precision`). */
  redPrecision?: number | null;
  /**
   * Days after a snapshot in which the label's outcome counts (`--horizon`, default 90): the
   * `--horizon` the CSV was exported with. Recorded in the artifact; monitoring judges each
   * score once this many days have passed.
   */
  horizon?: number;
  onProgress?: (done: number, total: number, label: string) => void;
  onWarning?: (message: string) => void;
  /**
   * Refit the validated recipe on every labelled row for the shipped model (default true); the
   * reported metrics stay those of the hold-out. False ships the model fitted on the train split.
   */
  refit?: boolean;
  /** Clock for the version id and `createdAt`; tests pin it. */
  now?: Date;
}

export interface TrainSummary {
  version: string;
  target: "churn" | "expansion";
  /** Expansion models: the readiness threshold (F1-best out of fold). */
  readyThreshold: number | null;
  horizonDays: number;
  /** Size of model.json, and of the tree arrays in it as base64 (0 without trees). */
  modelBytes: number;
  treeBytesBase64: number;
  /** Rows the shipped model was refit on; 0 when it is the train-split model. */
  refitRows: number;
  dataFile: string;
  dataSha256: string;
  label: { column: string; positive: string; values: { value: string; count: number }[] };
  /** Labelled rows used (train + hold-out) and rows dropped for a missing label. */
  rows: number;
  droppedMissingLabel: number;
  positives: number;
  baseRate: number;
  trainRows: number;
  holdoutRows: number;
  holdoutPositives: number;
  holdoutFraction: number;
  split: string;
  seed: number;
  columns: ColumnReport[];
  featureCounts: { numeric: number; boolean: number; categorical: number };
  encodedColumns: number;
  excludedColumns: ExcludedColumn[];
  leaderboard: LeaderboardRow[];
  skipped: string[];
  chosen: string;
  folds: number;
  calibration: { method: string; ece: number; table: { from: number; to: number; n: number; meanPredicted: number; observed: number }[] };
  holdout: { auc: number; prAuc: number; brier: number; logLoss: number; baseRate: number; ece: number; intervalCoverage: number; intervalWidth: number };
  tiers: TierRow[];
  thresholds: TierThresholds;
  redPrecisionTarget: number | null;
  redOof: ReturnType<typeof atThreshold>;
  importance: { feature: string; meanAbs: number }[];
  leakage: LeakageWarning[];
  totalMs: number;
  /** Where model.json was written and its sha256, when `out` was given. */
  modelPath: string | null;
  modelSha256: string;
}

export interface TrainResult {
  artifact: ModelArtifact;
  /** Absent for a cold-start scorecard, which has nothing to validate; see `coldStart`. */
  summary?: TrainSummary;
  /** Set when a scorecard was built instead of a model: the reason and where it was written. */
  scorecard?: { reason: string; modelPath: string | null; modelSha256: string };
  /** The exact model.json text (what `modelSha256` hashes). */
  json: string;
  /** CSV row indices of the hold-out and their churn probabilities from the artifact's scorer. */
  holdoutIndices: number[];
  holdoutProbabilities: Float64Array;
}

const MIN_ROWS = 30;
const MIN_PER_CLASS = 5;

/** Values of the --time column for the labelled rows: numbers, or dates as epoch days. */
function readTimes(csv: Csv, column: string, rows: number[]): Float64Array {
  const j = csv.header.indexOf(column);
  if (j < 0) throw new UsageError("--time", `no column named "${column}"; the CSV's columns are: ${listColumns(csv.header)}`);
  return Float64Array.from(rows, (r, k) => {
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

/**
 * The lowest red threshold whose out-of-fold precision reaches `target`: the widest red tier a
 * CS team can trust at that precision. Yellow stays at 0.40 (or just below red if that is lower).
 */
export function tiersForPrecision(p: ArrayLike<number>, y: ArrayLike<number>, target: number): TierThresholds {
  const candidates = [...new Set(Array.from(p))].sort((a, b) => a - b);
  for (const t of candidates) {
    const r = atThreshold(y, p, t);
    // Require a handful of accounts so one lucky account cannot set the tier.
    if (r.flagged >= 5 && r.precision >= target) return { red: t, yellow: Math.min(DEFAULT_TIERS.yellow, t) };
  }
  return { red: 1, yellow: DEFAULT_TIERS.yellow };
}

/** Base64 bytes of the tree arrays in a model (trees alone, or inside a blend). */
function treeBytes(m: ModelArtifact["model"]): number {
  if (m.family === "gbdt") return gbdtSizeBytes(m);
  if (m.family === "blend") return m.members.reduce((n, x) => n + (x.model.family === "gbdt" ? gbdtSizeBytes(x.model) : 0), 0);
  return 0;
}

/** Mean |SHAP| per user column over the hold-out: which signals move scores most. */
function globalImportance(scores: Score[]): { feature: string; meanAbs: number }[] {
  const sums = new Map<string, number>();
  for (const s of scores) for (const d of s.drivers) sums.set(d.feature, (sums.get(d.feature) ?? 0) + Math.abs(d.contribution));
  return [...sums].map(([feature, v]) => ({ feature, meanAbs: v / scores.length })).sort((a, b) => b.meanAbs - a.meanAbs);
}

/** Timestamp part of a version id: `YYYYMMDD-HHMMSS` in UTC. */
function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

function checkColumn(header: string[], flag: string, name: string | null | undefined): void {
  if (name != null && !header.includes(name)) throw new UsageError(flag, `no column named "${name}"; the CSV's columns are: ${listColumns(header)}`);
}

/**
 * Trains and (when `out` is set) saves a model; throws `UsageError` for problems with the
 * options or the data the user can fix, naming the flag.
 *
 * @example
 *   const { artifact, summary } = await train({ data: "telco.csv", label: "Churn", positive: "Yes", id: "customerID", out: "models/m1" });
 *   console.log(formatTrainSummary(summary));
 */
/**
 * The readiness threshold of an expansion model: the calibrated probability that maximises F1
 * out of fold (at least five accounts flagged), so "ready" balances missed and wasted offers.
 */
export function bestF1Threshold(p: ArrayLike<number>, y: ArrayLike<number>): number {
  const order = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a]);
  const positives = Array.from(y).reduce((a, v) => a + v, 0);
  let tp = 0;
  let best = { f1: -1, threshold: 0.5 };
  for (let k = 0; k < order.length; k++) {
    tp += y[order[k]];
    // Only cut between distinct probabilities, so everything at the threshold is flagged.
    if (k + 1 < order.length && p[order[k + 1]] === p[order[k]]) continue;
    if (k + 1 < 5) continue;
    const f1 = (2 * tp) / (k + 1 + positives);
    if (f1 > best.f1) best = { f1, threshold: p[order[k]] };
  }
  return best.threshold;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const seed = options.seed ?? 42;
  const holdoutFraction = options.holdout ?? 0.2;
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError("--seed", `must be a whole number >= 0, got ${seed}`);
  if (!(holdoutFraction >= 0.05 && holdoutFraction <= 0.5)) throw new UsageError("--holdout", `must be between 0.05 and 0.5, got ${holdoutFraction}`);
  const horizonDays = options.horizon ?? DEFAULT_HORIZON_DAYS;
  if (!Number.isInteger(horizonDays) || horizonDays < 1 || horizonDays > 3650) throw new UsageError("--horizon", `must be a whole number of days from 1 to 3650, got ${horizonDays}`);

  const file = readCsvFile(options.data, "--data");
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

  // Cold start: without a label, or with too little labelled history, no model is trusted.
  const labelled = options.label == null ? 0 : file.records.filter((r) => !isMissing(r[options.label!])).length;
  if (options.target === "expansion" && labelled < MIN_LABELLED_ROWS) {
    throw new UsageError("--label", `an expansion model needs at least ${MIN_LABELLED_ROWS} labelled accounts, found ${labelled}; until then the API answers from the expansion scorecard (source "scorecard")`);
  }
  if (options.label == null || labelled < MIN_LABELLED_ROWS) return coldStart(file, options, labelled);

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
  const timeValues = options.time != null ? readTimes(file.csv, options.time, labels.rows) : null;
  const split = timeValues ? timeSplit(timeValues, holdoutFraction) : stratifiedSplit(labels.y, { fraction: holdoutFraction, seed });
  const trainIdx = split.train.map((k) => labels.rows[k]);
  const holdIdx = split.holdout.map((k) => labels.rows[k]);
  const yTrain = Uint8Array.from(split.train, (k) => labels.y[k]);
  const yHold = Uint8Array.from(split.holdout, (k) => labels.y[k]);
  const holdPos = yHold.reduce((n, v) => n + v, 0);
  if (holdPos === 0 || holdPos === yHold.length) {
    throw new UsageError("--holdout", `a ${holdoutFraction} hold-out has ${holdPos ? "no stayers" : "no churned rows"} to measure on; hold out more or add rows`);
  }

  const inference = inferFeatures(file.csv, { label: label, id: options.id ?? null, rows: trainIdx });
  for (const c of options.exclude ?? []) {
    if (!file.csv.header.includes(c)) throw new UsageError("--exclude", `no column named "${c}"; the CSV's columns are: ${listColumns(file.csv.header)}`);
  }
  const exclude = [...(options.time != null ? [options.time] : []), ...(options.exclude ?? [])];
  const reasonFor = (c: string) => (c === options.time ? "the time column (--time)" : "left out by --exclude");
  const excludedColumns = [...inference.excludedColumns, ...exclude.filter((c) => !inference.excludedColumns.some((e) => e.name === c)).map((name) => ({ name, reason: reasonFor(name) }))];
  const features = inference.features.filter((f) => !exclude.includes(f.name));
  if (features.length === 0) {
    throw new UsageError("--data", `no usable signal columns; every column was left out: ${excludedColumns.map((e) => `${e.name} (${e.reason})`).join("; ")}`);
  }
  const leakage = leakageWarnings(file.csv, { label: label, positive: positive, rows: trainIdx, features });
  for (const w of leakage) options.onWarning?.(`leakage: column "${w.column}" ${w.reason} (ROC-AUC ${w.auc.toFixed(3)} on its own); check it is known before the outcome`);

  // Selection by k-fold cross-validation on the training rows, within the time budget.
  const input: FitInput = { csv: file.csv, records: file.records, label: label, id: options.id ?? null, exclude };
  const timeOrder = timeValues ? [...split.train.keys()].sort((a, b) => timeValues[split.train[a]] - timeValues[split.train[b]]) : undefined;
  const selection = await selectModel(input, trainIdx, yTrain, {
    folds: options.folds ?? 5,
    budgetSeconds: options.budget ?? 120,
    seed,
    timeOrder,
    family: options.family,
    onProgress: options.onProgress,
  });
  const yOof = Uint8Array.from(selection.oofRows, (k) => yTrain[k]);
  const calibration = fitCalibration(selection.oofMargin, yOof);
  const oofCalibrated = Float64Array.from(selection.oofMargin, (z) => calibrate(calibration, 1 / (1 + Math.exp(-z)), z));
  const tiers = options.redPrecision != null ? tiersForPrecision(oofCalibrated, yOof, options.redPrecision) : { ...DEFAULT_TIERS };

  // The chosen recipe fitted on the training rows, measured once on the untouched hold-out.
  const fitted = await fitRecipe(selection.recipe, input, trainIdx, yTrain, undefined, selection.rounds);
  const now = options.now ?? new Date();
  const target = options.target ?? "churn";
  const artifact: ModelArtifact = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: "",
    createdAt: now.toISOString(),
    target,
    label: { column: label, positive: positive },
    idColumn: options.id ?? null,
    arrColumn: options.arr ?? null,
    features: fitted.features,
    baseline: fitted.baseline,
    model: fitted.model,
    calibration,
    tiers,
    ...(options.target === "expansion" ? { readyThreshold: bestF1Threshold(oofCalibrated, yOof) } : {}),
    horizonDays,
    metrics: {},
    training: {
      dataSha256: file.sha256,
      dataFile: basename(options.data),
      rows: labels.rows.length,
      positives: labels.positives,
      holdoutRows: holdIdx.length,
      seed,
      excludedColumns,
    },
  };
  const holdScorer = new Scorer(artifact);
  const holdScores = holdIdx.map((i) => holdScorer.score(file.records[i], Infinity));
  const holdoutProbabilities = Float64Array.from(holdScores, (s) => s.churnProbability);
  const holdoutPositives = holdPos;
  const calibrationCheck = calibrationReport(holdoutProbabilities, yHold);
  const coverage = intervalCoverage(calibration, holdoutProbabilities, holdScores.map((s) => s.interval), yHold);
  const holdout = {
    auc: rocAuc(yHold, holdoutProbabilities),
    prAuc: prAuc(yHold, holdoutProbabilities),
    brier: brier(yHold, holdoutProbabilities),
    logLoss: logLoss(yHold, holdoutProbabilities),
    baseRate: holdoutPositives / yHold.length,
    ece: calibrationCheck.ece,
    intervalCoverage: coverage.coverage,
    intervalWidth: coverage.meanWidth,
  };
  const tierRows = tierTable(yHold, holdoutProbabilities, tiers);
  const importance = globalImportance(holdScores);
  const red = atThreshold(yOof, oofCalibrated, tiers.red);

  // The hold-out has measured the recipe; the shipped model is the same recipe refit on every
  // labelled row, so no history is wasted. Its statistics and weights come from all rows.
  if (options.refit !== false) {
    const shipped = await fitRecipe(selection.recipe, input, labels.rows, labels.y, undefined, selection.rounds);
    artifact.features = shipped.features;
    artifact.baseline = shipped.baseline;
    artifact.model = shipped.model;
  }
  // What the shipped model's training rows and its out-of-fold probabilities looked like: the
  // reference drift monitoring compares live signals and scores with.
  const shippedRows = options.refit !== false ? labels.rows : trainIdx;
  artifact.reference = buildReference(artifact.features, shippedRows.map((i) => file.records[i]), oofCalibrated);
  const modelHash = sha256Hex(`${file.sha256}:${JSON.stringify(artifact.model)}:${JSON.stringify(calibration)}`);
  artifact.version = `${target}-${stamp(now)}-${modelHash.slice(0, 6)}`;
  artifact.metrics = {
    auc: holdout.auc,
    prAuc: holdout.prAuc,
    brier: holdout.brier,
    logLoss: holdout.logLoss,
    ece: holdout.ece,
    intervalCoverage: holdout.intervalCoverage,
    rows: labels.rows.length,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: trainIdx.length,
    holdoutRows: holdIdx.length,
    holdoutPositives,
    droppedMissingLabel: labels.missing,
    family: artifact.model.family,
    recipe: selection.recipe.name,
    cvFolds: selection.folds,
    cvAuc: selection.leaderboard[0] ? (selection.leaderboard.find((r) => r.name === selection.recipe.name)?.auc ?? null) : null,
    leaderboard: selection.leaderboard,
    calibrationMethod: calibration.method,
    reliability: calibrationCheck.table,
    tierTable: tierRows,
    redThreshold: tiers.red,
    redPrecisionOof: red.precision,
    redShareOof: red.share,
    leakage,
    refitOnAllRows: options.refit !== false,
    timeColumn: options.time ?? null,
  };

  artifact.metrics.treeBytesBase64 = treeBytes(artifact.model);
  const json = `${JSON.stringify(artifact, null, 2)}\n`;
  const modelSha256 = sha256Hex(json);
  const modelPath = options.out ? writeArtifactJson(options.out, json).path : null;

  const summary: TrainSummary = {
    target,
    readyThreshold: artifact.readyThreshold ?? null,
    horizonDays,
    modelBytes: json.length,
    treeBytesBase64: artifact.metrics.treeBytesBase64 as number,
    version: artifact.version,
    dataFile: options.data,
    dataSha256: file.sha256,
    label: { column: label, positive: positive, values: labels.values },
    rows: labels.rows.length,
    droppedMissingLabel: labels.missing,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: trainIdx.length,
    holdoutRows: holdIdx.length,
    holdoutPositives,
    holdoutFraction,
    split: timeValues ? `newest ${percent(holdoutFraction)} by ${options.time}` : `${percent(holdoutFraction)}, stratified, seed ${seed}`,
    seed,
    columns: inference.columns,
    featureCounts: {
      numeric: features.filter((f) => f.kind === "numeric").length,
      boolean: features.filter((f) => f.kind === "boolean").length,
      categorical: features.filter((f) => f.kind === "categorical").length,
    },
    encodedColumns: encodedNames(features).length,
    excludedColumns,
    leaderboard: selection.leaderboard,
    skipped: selection.skipped,
    chosen: selection.recipe.name,
    folds: selection.folds,
    calibration: { method: calibration.method, ece: holdout.ece, table: calibrationCheck.table },
    holdout,
    tiers: tierRows,
    thresholds: tiers,
    redPrecisionTarget: options.redPrecision ?? null,
    redOof: red,
    importance,
    leakage,
    totalMs: performance.now() - started,
    refitRows: options.refit !== false ? labels.rows.length : 0,
    modelPath,
    modelSha256,
  };
  return { artifact, summary, json, holdoutIndices: holdIdx, holdoutProbabilities };
}

/**
 * Writes `model.json` and `model.json.sha256` (in `sha256sum` format, so
 * `sha256sum -c model.json.sha256` verifies it) into `dir`, creating it if needed.
 */
export function writeArtifactJson(dir: string, json: string): { path: string; sha256: string } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "model.json");
  const sha256 = sha256Hex(json);
  writeFileSync(path, json);
  writeFileSync(`${path}.sha256`, `${sha256}  model.json\n`);
  return { path, sha256 };
}

/** Writes an artifact object as pretty JSON with its checksum file; see `writeArtifactJson`. */
export function writeArtifact(dir: string, artifact: ModelArtifact): { path: string; sha256: string } {
  return writeArtifactJson(dir, `${JSON.stringify(artifact, null, 2)}\n`);
}

/** The training summary as the text table the train CLI prints. */
/** Builds, writes and explains a cold-start scorecard (no ML model is fitted). */
function coldStart(file: CsvFile, options: TrainOptions, labelled: number): TrainResult {
  const artifact = buildScorecard(file, { label: options.label, positive: options.positive, id: options.id, arr: options.arr, dataFile: basename(options.data), now: options.now });
  artifact.horizonDays = options.horizon ?? DEFAULT_HORIZON_DAYS;
  // A scorecard is not fitted, so its probabilities on the CSV are as good as out of fold.
  const scorer = new Scorer(artifact);
  artifact.reference = buildReference(artifact.features, file.records, Float64Array.from(file.records, (r) => scorer.probability(r)));
  const json = `${JSON.stringify(artifact, null, 2)}\n`;
  const modelSha256 = sha256Hex(json);
  const modelPath = options.out ? writeArtifactJson(options.out, json).path : null;
  const reason = artifact.model.family === "scorecard" ? artifact.model.reason : `${labelled} labelled rows`;
  return { artifact, json, scorecard: { reason, modelPath, modelSha256 }, holdoutIndices: [], holdoutProbabilities: new Float64Array(0) };
}

/** What the train CLI prints: the validation summary, or the scorecard's weights and why. */
export function formatTrainResult(r: TrainResult): string {
  if (r.summary) return formatTrainSummary(r.summary);
  const a = r.artifact;
  const m = a.model;
  if (m.family !== "scorecard") return `Wrote ${a.version}`;
  const owners = a.features.flatMap((f) => (f.kind === "categorical" ? f.levels.map(() => f.name) : f.kind === "numeric" && f.log ? [f.name, f.name] : [f.name]));
  const weights = new Map<string, number>();
  owners.forEach((name, j) => weights.set(name, (weights.get(name) ?? 0) + m.weights[j]));
  const out = [
    `Foresight cold-start scorecard ${a.version}`,
    `No ML model was fitted: ${m.reason}.`,
    "Scores come from stated domain priors on recognisable customer-success signals; every weight is shown below.",
    "",
    formatTable(
      ["signal", "weight (log-odds per sd)", "why"],
      [...weights].map(([name, w]) => [name, fixed(w, 2), m.rationale[name] ?? ""]),
      [false, true, false],
    ),
    "",
    `Tiers: red ≥ ${a.tiers.red}, yellow ≥ ${a.tiers.yellow}. Record outcomes and retrain once 200 accounts are labelled.`,
  ];
  if (r.scorecard?.modelPath) out.push(`Wrote ${r.scorecard.modelPath} (sha256 ${r.scorecard.modelSha256}) and ${r.scorecard.modelPath}.sha256`);
  return out.join("\n");
}

export function formatTrainSummary(s: TrainSummary): string {
  const out: string[] = [];
  const labelValues = s.label.values.slice(0, 6).map((v) => `${v.value} ${count(v.count)}`).join(", ");
  out.push(`Foresight model ${s.version}`);
  const [noun, past] = s.target === "expansion" ? ["expansion", "expanded"] : ["churn", "churned"];
  out.push(
    formatPairs([
        ["data", `${s.dataFile} (sha256 ${s.dataSha256.slice(0, 12)}...)`],
        ["label", `${s.label.column} = "${s.label.positive}" is ${noun} (values: ${labelValues})`],
        ["rows", `${count(s.rows)} labelled${s.droppedMissingLabel ? `, ${count(s.droppedMissingLabel)} dropped for a missing label` : ""}`],
        ["positives", `${count(s.positives)} (base rate ${percent(s.baseRate)})`],
        ["split", `${count(s.trainRows)} train / ${count(s.holdoutRows)} hold-out (${s.split})`],
        ["horizon", `${s.horizonDays} days: monitoring judges each score against the outcomes in the ${s.horizonDays} days after it`],
    ]),
  );
  const used = s.columns.filter((c) => c.kind !== "excluded");
  out.push("");
  out.push(
    `Features: ${used.length} columns -> ${s.encodedColumns} model inputs ` +
      `(${s.featureCounts.numeric} numeric, ${s.featureCounts.boolean} boolean, ${s.featureCounts.categorical} categorical)`,
  );
  out.push(formatTable(["column", "type", "detail"], used.map((c) => [c.name, c.kind, c.detail])));
  if (s.excludedColumns.length) {
    out.push("");
    out.push(`Excluded columns: ${s.excludedColumns.length}`);
    out.push(formatTable(["column", "reason"], s.excludedColumns.map((e) => [e.name === "" ? '""' : e.name, e.reason])));
  }
  if (s.leakage.length) {
    out.push("");
    out.push("Leakage warnings (a single column predicts the label almost perfectly: is it known before the outcome?)");
    out.push(formatTable(["column", "ROC-AUC alone", "why"], s.leakage.map((w) => [w.column, fixed(w.auc, 3), w.reason])));
  }
  out.push("");
  out.push(`Model selection (${s.folds}-fold cross-validation on the ${count(s.trainRows)} training rows; out-of-fold, before calibration)`);
  out.push(
    formatTable(
      ["candidate", "ROC-AUC", "PR-AUC", "log loss", "seconds", "drivers"],
      s.leaderboard.map((r) => [`${r.name === s.chosen ? "* " : "  "}${r.name}`, fixed(r.auc, 4), fixed(r.prAuc, 3), fixed(r.logLoss, 4), r.seconds.toFixed(1), r.exact ? "exact SHAP" : "approximate"]),
      [false, true, true, true, true, false],
    ),
  );
  out.push(`  * shipped: ${s.chosen}, the simplest candidate within one standard error (fold by fold) of the best ROC-AUC`);
  if (s.skipped.length) out.push(`  skipped for the time budget: ${s.skipped.join("; ")}`);
  out.push("");
  out.push(`Hold-out quality (${count(s.holdoutRows)} accounts, ${count(s.holdoutPositives)} ${past}; ${s.calibration.method} calibration)`);
  out.push(formatQuality(s.holdout));
  out.push(
    formatPairs([
      ["ECE", `${fixed(s.holdout.ece, 3)} expected calibration error (mean |predicted − observed| over 10 bins)`],
      ["intervals", `${percent(s.holdout.intervalCoverage)} of hold-out cohorts of 100 similar accounts ${past} at a rate inside their 90% interval (mean width ${fixed(s.holdout.intervalWidth, 3)})`],
    ]),
  );
  out.push("");
  out.push("Reliability on the hold-out");
  out.push(
    formatTable(
      ["predicted", "accounts", "mean predicted", `observed ${noun}`],
      s.calibration.table.map((b) => [`${fixed(b.from, 1)}-${fixed(b.to, 1)}`, count(b.n), percent(b.meanPredicted), percent(b.observed)]),
      [false, true, true, true],
    ),
  );
  out.push("");
  out.push(`Risk tiers on the hold-out (red ≥ ${fixed(s.thresholds.red, 3)}, yellow ≥ ${fixed(s.thresholds.yellow, 3)})`);
  if (s.redPrecisionTarget != null) {
    out.push(
      s.thresholds.red < 1
        ? `  --red-precision ${s.redPrecisionTarget}: red starts at ${fixed(s.thresholds.red, 3)}, where out-of-fold precision is ${percent(s.redOof.precision)}; red covers ${percent(s.redOof.share)} of accounts and ${percent(s.redOof.recall)} of churners`
        : `  --red-precision ${s.redPrecisionTarget}: no threshold reaches that precision out of fold; red is empty`,
    );
  }
  if (s.readyThreshold != null) {
    out.push(`  expansion-ready at p ≥ ${fixed(s.readyThreshold, 3)} (the threshold with the best out-of-fold F1), and only while churn risk is below 0.40`);
  } else out.push(formatTiers(s.tiers));
  out.push("");
  out.push("Signals that move scores most (mean |SHAP| on the hold-out, log-odds)");
  out.push(formatTable(["column", "mean |contribution|"], s.importance.slice(0, 10).map((d) => [d.feature, fixed(d.meanAbs, 3)]), [false, true]));
  out.push("");
  out.push(`Trained in ${(s.totalMs / 1000).toFixed(1)} s. model.json is ${(s.modelBytes / 1024).toFixed(1)} KiB${s.treeBytesBase64 ? `, of which the tree arrays take ${(s.treeBytesBase64 / 1024).toFixed(1)} KiB of base64` : ""}.`);
  out.push(
    s.refitRows
      ? `The hold-out measured the recipe; the shipped model is the same recipe refit on all ${count(s.refitRows)} labelled rows.`
      : `The shipped model is the one fitted on the ${count(s.trainRows)} training rows (--no-refit).`,
  );
  if (s.modelPath) out.push(`Wrote ${s.modelPath} (sha256 ${s.modelSha256}) and ${s.modelPath}.sha256`);
  return out.join("\n");
}
