/**
 * Trains a churn model from a customer CSV, end to end, in named steps (`training/train/`):
 * load (read and hash the file, hold out a slice, stratified or the newest rows with --time,
 * infer feature types), select (the best model family by cross-validation within a time
 * budget), calibrate (on out-of-fold predictions), measure (once, on the hold-out, with the
 * same plain-TS scorer the Worker runs), refit (on all rows), then assemble and write the
 * `model.json` artifact. The train CLI and the start script call `train()`.
 */
import { encodedNames } from "../shared/model/features";
import { percent } from "./report";
import { type TrainingRun, assemble } from "./train/assemble";
import { calibrateSelection } from "./train/calibrate";
import { coldStart } from "./train/cold-start";
import { load } from "./train/load";
import { measure } from "./train/measure";
import { refit } from "./train/refit";
import { select } from "./train/select";
import type { TrainOptions, TrainResult, TrainSummary } from "./train/types";
import { type Written, write } from "./train/write";

export { bestF1Threshold, tiersForPrecision } from "./train/calibrate";
export { formatTrainResult, formatTrainSummary } from "./train/format";
export type { TrainOptions, TrainResult, TrainSummary } from "./train/types";
export { writeArtifact, writeArtifactJson } from "./train/write";

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
  const loaded = await load(options);
  if ("coldStart" in loaded) return coldStart(loaded.coldStart.file, options, loaded.coldStart.labelled);
  const { data } = loaded;
  const selection = await select(data, options);
  const oof = calibrateSelection(data, selection, options);
  const measured = await measure(data, selection, oof);
  const now = options.now ?? new Date();
  const shipped = await refit(data, selection, measured.fitted, options);
  const run: TrainingRun = { options, data, selection, oof, measured, shipped, now };
  const artifact = await assemble(run);
  const written = await write(artifact, options.out);
  return { artifact, summary: summarise(run, artifact, written, started), json: written.json, holdoutIndices: data.holdIdx, holdoutProbabilities: measured.probabilities };
}

/** What the train CLI reports about a run: its data, choices, hold-out quality and output. */
function summarise(run: TrainingRun, artifact: TrainResult["artifact"], written: Written, started: number): TrainSummary {
  const { options, data, selection, oof, measured } = run;
  const { labels, features, holdoutFraction, seed } = data;
  return {
    target: artifact.target,
    readyThreshold: artifact.readyThreshold ?? null,
    horizonDays: data.horizonDays,
    modelBytes: written.json.length,
    treeBytesBase64: artifact.metrics.treeBytesBase64 as number,
    version: artifact.version,
    dataFile: options.data,
    dataSha256: data.file.sha256,
    dateRange: artifact.training.dateRange ?? null,
    label: { column: data.label, positive: data.positive, values: labels.values },
    rows: labels.rows.length,
    droppedMissingLabel: labels.missing,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: data.trainIdx.length,
    holdoutRows: data.holdIdx.length,
    holdoutPositives: data.holdoutPositives,
    holdoutFraction,
    split: data.times ? `newest ${percent(holdoutFraction)} by ${options.time}` : `${percent(holdoutFraction)}, stratified, seed ${seed}`,
    seed,
    columns: data.columns,
    featureCounts: {
      numeric: features.filter((f) => f.kind === "numeric").length,
      boolean: features.filter((f) => f.kind === "boolean").length,
      categorical: features.filter((f) => f.kind === "categorical").length,
    },
    encodedColumns: encodedNames(features).length,
    excludedColumns: data.excludedColumns,
    leaderboard: selection.leaderboard,
    skipped: selection.skipped,
    chosen: selection.recipe.name,
    folds: selection.folds,
    calibration: { method: oof.calibration.method, ece: measured.holdout.ece, table: measured.reliability },
    holdout: measured.holdout,
    tiers: measured.tiers,
    thresholds: oof.tiers,
    redPrecisionTarget: options.redPrecision ?? null,
    redOof: oof.red,
    importance: measured.importance,
    leakage: data.leakage,
    totalMs: performance.now() - started,
    refitRows: options.refit !== false ? labels.rows.length : 0,
    modelPath: written.path,
    modelSha256: written.sha256,
  };
}
