/**
 * What `train()` takes and gives back: its options (one per train CLI flag, plus hooks for
 * progress and warnings), the validation summary the CLI prints, and the result with the
 * exact `model.json` text.
 */
import type { atThreshold } from "../../shared/metrics";
import type { DateRange, ModelArtifact, TierThresholds } from "../../shared/model/artifact";
import type { ActiveModelDiff } from "../history";
import type { ColumnReport, ExcludedColumn } from "../infer";
import type { LeakageWarning } from "../leakage";
import type { TierRow } from "../report";
import type { Family, LeaderboardRow } from "../select";

/** How to train: the train CLI's flags, the clock, and hooks for progress and warnings. */
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
  /**
   * Use export-training's CSM feedback columns (`csm_verdict`, `csm_expected_tier`) as signals
   * (`--use-feedback`). Off by default: the Worker scores accounts on their signals alone, so a model
   * that learnt from feedback would find it missing (imputed) at every score unless your scoring
   * requests send those two columns as signals too.
   */
  useFeedback?: boolean;
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

/** What validation found, as the train CLI prints it (`formatTrainSummary`). */
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
  /** The --time column's oldest and newest values; null without --time. */
  dateRange: DateRange | null;
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
  /**
   * The new model against the active one of its target in the local registry, or why not; set by
   * the train CLI (`diffAgainstActive`), absent when `train()` is called directly.
   */
  againstActive?: ActiveModelDiff;
}

/** A trained model (or a cold-start scorecard), its exact JSON and its hold-out scores. */
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
