/**
 * The trained model's artifact, made once every step has run: the version id (a hash of the
 * data, the shipped model and its calibration), the hold-out metrics, the provenance (with the
 * training facts the evolution log compares: date range, recipe, hold-out, signals by |SHAP|) and
 * the reference distributions for drift monitoring, put together by `buildArtifact`.
 */
import { basename } from "node:path";
import { sha256Hex } from "../../shared/hash";
import { buildArtifact, type ModelArtifact } from "../../shared/model/artifact";
import { gbdtSizeBytes } from "../../shared/model/gbdt/format";
import { buildReference } from "../../shared/model/reference";
import type { Selection } from "../select";
import { versionId } from "../version";
import type { OutOfFold } from "./calibrate";
import type { TrainingData } from "./load";
import type { Measurement } from "./measure";
import { trainingFacts } from "./facts";
import type { Shipped } from "./refit";
import type { TrainOptions } from "./types";

/** What the steps of one training run produced: every piece of its artifact and summary. */
export interface TrainingRun {
  options: TrainOptions;
  data: TrainingData;
  selection: Selection;
  oof: OutOfFold;
  measured: Measurement;
  shipped: Shipped;
  /** The clock reading for `createdAt` and the version id. */
  now: Date;
}

/**
 * The artifact of a training run.
 *
 * @example
 *   const artifact = await assemble({ options, data, selection, oof, measured, shipped, now: new Date() });
 *   artifact.version; // e.g. "churn-20261122-140512-3fa1c2"
 */
export async function assemble(run: TrainingRun): Promise<ModelArtifact> {
  const { options, data, selection, oof, measured, shipped, now } = run;
  const { features, baseline, model } = shipped.fitted;
  const target = options.target ?? "churn";
  const hash = await sha256Hex(`${data.file.sha256}:${JSON.stringify(model)}:${JSON.stringify(oof.calibration)}`);
  return buildArtifact({
    version: versionId(target, now, hash),
    createdAt: now.toISOString(),
    target,
    label: { column: data.label, positive: data.positive },
    idColumn: options.id ?? null,
    arrColumn: options.arr ?? null,
    features,
    baseline,
    model,
    calibration: oof.calibration,
    tiers: oof.tiers,
    readyThreshold: oof.readyThreshold,
    horizonDays: data.horizonDays,
    metrics: metrics(run),
    training: {
      dataSha256: data.file.sha256,
      dataFile: basename(options.data),
      rows: data.labels.rows.length,
      positives: data.labels.positives,
      holdoutRows: data.holdIdx.length,
      seed: data.seed,
      excludedColumns: data.excludedColumns,
      ...trainingFacts(data, selection, measured, options),
    },
    // What the shipped model's training rows and its out-of-fold probabilities looked like: the
    // reference drift monitoring compares live signals and scores with.
    reference: buildReference(features, shipped.rows.map((i) => data.file.records[i]), oof.probabilities),
  });
}

/** The artifact's metrics: the hold-out's measurement of the recipe, and how it was chosen. */
function metrics(run: TrainingRun): ModelArtifact["metrics"] {
  const { options, data, selection, oof, measured, shipped } = run;
  const { labels } = data;
  const { holdout } = measured;
  return {
    auc: holdout.auc,
    prAuc: holdout.prAuc,
    brier: holdout.brier,
    logLoss: holdout.logLoss,
    ece: holdout.ece,
    intervalCoverage: holdout.intervalCoverage,
    rows: labels.rows.length,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    trainRows: data.trainIdx.length,
    holdoutRows: data.holdIdx.length,
    holdoutPositives: data.holdoutPositives,
    droppedMissingLabel: labels.missing,
    family: shipped.fitted.model.family,
    recipe: selection.recipe.name,
    cvFolds: selection.folds,
    cvAuc: selection.leaderboard[0] ? (selection.leaderboard.find((r) => r.name === selection.recipe.name)?.auc ?? null) : null,
    leaderboard: selection.leaderboard,
    calibrationMethod: oof.calibration.method,
    reliability: measured.reliability,
    tierTable: measured.tiers,
    redThreshold: oof.tiers.red,
    redPrecisionOof: oof.red.precision,
    redShareOof: oof.red.share,
    leakage: data.leakage,
    refitOnAllRows: options.refit !== false,
    timeColumn: options.time ?? null,
    treeBytesBase64: treeBytes(shipped.fitted.model),
  };
}

/** Base64 bytes of the tree arrays in a model (trees alone, or inside a blend). */
function treeBytes(m: ModelArtifact["model"]): number {
  if (m.family === "gbdt") return gbdtSizeBytes(m);
  if (m.family === "blend") return m.members.reduce((n, x) => n + (x.model.family === "gbdt" ? gbdtSizeBytes(x.model) : 0), 0);
  return 0;
}
