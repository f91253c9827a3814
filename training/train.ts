/**
 * Trains a churn model from a customer CSV, end to end: read and hash the file, hold out a
 * stratified slice, infer feature types on the training rows, fit logistic regression with
 * tfjs, measure it on the hold-out with the same plain-TS scorer the Worker runs, and build the
 * `model.json` artifact. The train CLI and the start script both call `train()`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { brier, logLoss, prAuc, rocAuc } from "../shared/metrics";
import { DEFAULT_TIERS, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelArtifact } from "../shared/model/artifact";
import { encodedNames, encodedOwners, isMissing } from "../shared/model/features";
import { Scorer } from "../shared/model/scorer";
import { columnMeans, encodeMatrix, listColumns, parseLabels, readCsvFile, sha256Hex } from "./dataset";
import { UsageError } from "./errors";
import { type ColumnReport, type ExcludedColumn, inferFeatures, looksNumeric } from "./infer";
import { DEFAULT_FIT_OPTIONS, type FitOptions, fitLogistic } from "./logistic";
import { count, fixed, formatPairs, formatQuality, formatTable, formatTiers, percent, type TierRow, tierTable } from "./report";
import { stratifiedSplit } from "./split";

export interface TrainOptions {
  /** Path of the CSV to learn from (`--data`). */
  data: string;
  /** Label column (`--label`) and the value meaning "churned" (`--positive`). */
  label: string;
  positive: string;
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
  /** Optimiser settings; the CLI uses the defaults. */
  fit?: Partial<FitOptions>;
  /**
   * Refit the validated recipe on every labelled row for the shipped model (default true); the
   * reported metrics stay those of the hold-out. False ships the model fitted on the train split.
   */
  refit?: boolean;
  /** Clock for the version id and `createdAt`; tests pin it. */
  now?: Date;
}

/** One encoded column's weight: the global "driver" view of the model. */
export interface WeightDriver {
  /** Encoded column, e.g. `Contract=Month-to-month` or `tenure`. */
  input: string;
  /** The user column it came from. */
  column: string;
  /** Change in churn log-odds per unit of the input (per standard deviation for numeric columns). */
  weight: number;
  effect: "raises risk" | "lowers risk";
  /** What one unit of the input is, e.g. `+24.5 (1 sd)` or `Yes vs No`; empty for a level. */
  unit: string;
}

export interface TrainSummary {
  version: string;
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
  seed: number;
  columns: ColumnReport[];
  featureCounts: { numeric: number; boolean: number; categorical: number };
  encodedColumns: number;
  excludedColumns: ExcludedColumn[];
  holdout: { auc: number; prAuc: number; brier: number; logLoss: number; baseRate: number };
  tiers: TierRow[];
  topDrivers: WeightDriver[];
  fit: { epochs: number; bestEpoch: number; trainLoss: number; validationLoss: number | null; ms: number };
  totalMs: number;
  /** Where model.json was written and its sha256, when `out` was given. */
  modelPath: string | null;
  modelSha256: string;
}

export interface TrainResult {
  artifact: ModelArtifact;
  summary: TrainSummary;
  /** The exact model.json text (what `modelSha256` hashes). */
  json: string;
  /** CSV row indices of the hold-out and their churn probabilities from the artifact's scorer. */
  holdoutIndices: number[];
  holdoutProbabilities: Float64Array;
}

const MIN_ROWS = 30;
const MIN_PER_CLASS = 5;

function round3(v: number): string {
  return Number(v.toPrecision(3)).toString();
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
export async function train(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const seed = options.seed ?? 42;
  const holdoutFraction = options.holdout ?? 0.2;
  if (!Number.isInteger(seed) || seed < 0) throw new UsageError("--seed", `must be a whole number >= 0, got ${seed}`);
  if (!(holdoutFraction >= 0.05 && holdoutFraction <= 0.5)) throw new UsageError("--holdout", `must be between 0.05 and 0.5, got ${holdoutFraction}`);

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

  const labels = parseLabels(file.csv, options.label, options.positive);
  const negatives = labels.rows.length - labels.positives;
  if (labels.rows.length < MIN_ROWS || labels.positives < MIN_PER_CLASS || negatives < MIN_PER_CLASS) {
    throw new UsageError(
      "--data",
      `too little history to train on: ${labels.rows.length} labelled rows, ${labels.positives} with ${options.label} = "${options.positive}"; ` +
        `need at least ${MIN_ROWS} rows and ${MIN_PER_CLASS} of each outcome`,
    );
  }

  // Split positions index into labels.rows / labels.y; map them to CSV rows for encoding.
  const split = stratifiedSplit(labels.y, { fraction: holdoutFraction, seed });
  const trainIdx = split.train.map((k) => labels.rows[k]);
  const holdIdx = split.holdout.map((k) => labels.rows[k]);
  const yTrain = Uint8Array.from(split.train, (k) => labels.y[k]);
  const yHold = Uint8Array.from(split.holdout, (k) => labels.y[k]);
  const holdPos = yHold.reduce((n, v) => n + v, 0);
  if (holdPos === 0 || holdPos === yHold.length) {
    throw new UsageError("--holdout", `a ${holdoutFraction} hold-out has ${holdPos ? "no stayers" : "no churned rows"} to measure on; hold out more or add rows`);
  }

  const inference = inferFeatures(file.csv, { label: options.label, id: options.id ?? null, rows: trainIdx });
  const { features, excludedColumns } = inference;
  if (features.length === 0) {
    throw new UsageError("--data", `no usable signal columns; every column was left out: ${excludedColumns.map((e) => `${e.name} (${e.reason})`).join("; ")}`);
  }

  const matrix = encodeMatrix(features, file.records, trainIdx);
  const fit = await fitLogistic(matrix.x, yTrain, matrix.rows, matrix.cols, { ...options.fit, seed: options.fit?.seed ?? seed });
  const now = options.now ?? new Date();
  const target = options.target ?? "churn";
  const weightsHash = sha256Hex(`${file.sha256}:${fit.intercept}:${fit.weights.join(",")}`);

  const artifact: ModelArtifact = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: `${target}-${stamp(now)}-${weightsHash.slice(0, 6)}`,
    createdAt: now.toISOString(),
    target,
    label: { column: options.label, positive: options.positive },
    idColumn: options.id ?? null,
    arrColumn: options.arr ?? null,
    features,
    baseline: columnMeans(matrix),
    model: { family: "logistic", intercept: fit.intercept, weights: fit.weights },
    tiers: { ...DEFAULT_TIERS },
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

  // Hold-out metrics come from the plain-TS scorer on the raw rows: exactly what the Worker computes.
  const scorer = new Scorer(artifact);
  const holdoutProbabilities = Float64Array.from(holdIdx, (i) => scorer.probability(file.records[i]));
  const holdoutPositives = yHold.reduce((n, v) => n + v, 0);
  const holdout = {
    auc: rocAuc(yHold, holdoutProbabilities),
    prAuc: prAuc(yHold, holdoutProbabilities),
    brier: brier(yHold, holdoutProbabilities),
    logLoss: logLoss(yHold, holdoutProbabilities),
    baseRate: holdoutPositives / yHold.length,
  };
  const tiers = tierTable(yHold, holdoutProbabilities, artifact.tiers);
  const fitOptions = { ...DEFAULT_FIT_OPTIONS, ...options.fit };
  artifact.metrics = {
    auc: holdout.auc,
    prAuc: holdout.prAuc,
    brier: holdout.brier,
    logLoss: holdout.logLoss,
    rows: labels.rows.length,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: trainIdx.length,
    holdoutRows: holdIdx.length,
    holdoutPositives,
    droppedMissingLabel: labels.missing,
    encodedColumns: matrix.cols,
    tierTable: tiers,
    fit: {
      optimizer: "adam",
      learningRate: fitOptions.learningRate,
      batchSize: fitOptions.batchSize,
      l2: fitOptions.l2,
      epochs: fit.epochs,
      bestEpoch: fit.bestEpoch,
      trainLoss: fit.trainLoss,
      validationLoss: fit.validationLoss,
      ms: Math.round(fit.ms),
    },
  };

  // The hold-out has measured the recipe; the shipped model is the same recipe refit on every
  // labelled row, so no history is wasted. Its statistics and weights come from all rows.
  let shipped = { features, matrix, fit };
  if (options.refit !== false) {
    const all = labels.rows;
    const allInference = inferFeatures(file.csv, { label: options.label, id: options.id ?? null, rows: all });
    const allMatrix = encodeMatrix(allInference.features, file.records, all);
    const allFit = await fitLogistic(allMatrix.x, labels.y, allMatrix.rows, allMatrix.cols, { ...options.fit, seed: options.fit?.seed ?? seed });
    shipped = { features: allInference.features, matrix: allMatrix, fit: allFit };
    artifact.features = allInference.features;
    artifact.baseline = columnMeans(allMatrix);
    artifact.model = { family: "logistic", intercept: allFit.intercept, weights: allFit.weights };
    artifact.version = `${target}-${stamp(now)}-${sha256Hex(`${file.sha256}:${allFit.intercept}:${allFit.weights.join(",")}`).slice(0, 6)}`;
  }
  artifact.metrics.refitOnAllRows = options.refit !== false;

  const json = `${JSON.stringify(artifact, null, 2)}\n`;
  const modelSha256 = sha256Hex(json);
  const modelPath = options.out ? writeArtifactJson(options.out, json).path : null;

  const names = encodedNames(shipped.features);
  const owners = encodedOwners(shipped.features);
  const topDrivers = names
    .map((input, j): WeightDriver => {
      const f = shipped.features[owners[j]];
      const w = shipped.fit.weights[j];
      const unit = f.kind === "numeric" ? `+${round3(f.std)} (1 sd)` : f.kind === "boolean" ? `${f.trueValues[0]} vs ${f.falseValues[0]}` : "";
      return { input, column: f.name, weight: w, effect: w > 0 ? "raises risk" : "lowers risk", unit };
    })
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
    .slice(0, 10);

  const summary: TrainSummary = {
    version: artifact.version,
    dataFile: options.data,
    dataSha256: file.sha256,
    label: { column: options.label, positive: options.positive, values: labels.values },
    rows: labels.rows.length,
    droppedMissingLabel: labels.missing,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: trainIdx.length,
    holdoutRows: holdIdx.length,
    holdoutPositives,
    holdoutFraction,
    seed,
    columns: inference.columns,
    featureCounts: {
      numeric: features.filter((f) => f.kind === "numeric").length,
      boolean: features.filter((f) => f.kind === "boolean").length,
      categorical: features.filter((f) => f.kind === "categorical").length,
    },
    encodedColumns: matrix.cols,
    excludedColumns,
    holdout,
    tiers,
    topDrivers,
    fit: { epochs: fit.epochs, bestEpoch: fit.bestEpoch, trainLoss: fit.trainLoss, validationLoss: fit.validationLoss, ms: fit.ms },
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
export function formatTrainSummary(s: TrainSummary): string {
  const out: string[] = [];
  const labelValues = s.label.values.slice(0, 6).map((v) => `${v.value} ${count(v.count)}`).join(", ");
  out.push(`Foresight model ${s.version}`);
  out.push(
    formatPairs([
        ["data", `${s.dataFile} (sha256 ${s.dataSha256.slice(0, 12)}...)`],
        ["label", `${s.label.column} = "${s.label.positive}" is churn (values: ${labelValues})`],
        ["rows", `${count(s.rows)} labelled${s.droppedMissingLabel ? `, ${count(s.droppedMissingLabel)} dropped for a missing label` : ""}`],
        ["positives", `${count(s.positives)} (base rate ${percent(s.baseRate)})`],
        ["split", `${count(s.trainRows)} train / ${count(s.holdoutRows)} hold-out (${percent(s.holdoutFraction)}, stratified, seed ${s.seed})`],
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
  out.push("");
  out.push(`Hold-out quality (${count(s.holdoutRows)} accounts, ${count(s.holdoutPositives)} churned)`);
  out.push(formatQuality(s.holdout));
  out.push("");
  out.push("Risk tiers on the hold-out");
  out.push(formatTiers(s.tiers));
  out.push("");
  out.push("Top drivers (change in churn log-odds per unit of the input)");
  out.push(
    formatTable(
      ["input", "unit", "weight", "effect"],
      s.topDrivers.map((d) => [d.input, d.unit, fixed(d.weight, 3), d.effect]),
      [false, false, true, false],
    ),
  );
  out.push("");
  out.push(
    `Trained in ${(s.totalMs / 1000).toFixed(1)} s (fit ${(s.fit.ms / 1000).toFixed(1)} s, ${s.fit.epochs} epochs, kept epoch ${s.fit.bestEpoch}).`,
  );
  out.push(
    s.refitRows
      ? `The hold-out measured the recipe; the shipped model is the same recipe refit on all ${count(s.refitRows)} labelled rows.`
      : `The shipped model is the one fitted on the ${count(s.trainRows)} training rows (--no-refit).`,
  );
  if (s.modelPath) out.push(`Wrote ${s.modelPath} (sha256 ${s.modelSha256}) and ${s.modelPath}.sha256`);
  return out.join("\n");
}
