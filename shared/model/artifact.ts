/**
 * The model artifact (`model.json`): a tagged, versioned JSON document holding everything the
 * edge scorer needs (feature spec with encoders, weights, tier thresholds) plus the metrics and
 * provenance a data scientist needs to trust it. `parseArtifact` refuses anything else.
 */
import type { RiskTier } from "../tiers";
import { type FeatureSpec, width as featureWidth } from "./features";

export const MODEL_FORMAT = "foresight-model";
/** Version 2 adds tree ensembles, MLPs, blends, scorecards and calibration; version 1 still loads. */
export const MODEL_FORMAT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

/** Logistic regression over the encoded columns: p = sigmoid(intercept + w·x). */
export interface LogisticParams {
  family: "logistic";
  intercept: number;
  weights: number[];
}

/**
 * Gradient-boosted trees over the encoded columns (missing inputs are NaN), stored as flat
 * typed arrays in base64 (little-endian). margin = baseMargin + Σ leaf values. Layout and
 * scoring live in `gbdt/`; `nodes` holds the arrays named in `gbdt/format.ts`.
 */
export interface GbdtParams {
  family: "gbdt";
  baseMargin: number;
  trees: number;
  maxDepth: number;
  /** Node arrays, base64-encoded typed arrays; see `gbdt/format.ts` for names and types. */
  nodes: Record<string, string>;
}

/** A multilayer perceptron (ReLU hidden layers, sigmoid output), weights row-major per layer. */
export interface MlpParams {
  family: "mlp";
  layers: { inputs: number; outputs: number; weights: number[]; bias: number[] }[];
}

/** A weighted sum of member margins: exact SHAP is the same weighted sum of member SHAP. */
export interface BlendParams {
  family: "blend";
  members: { weight: number; model: LogisticParams | GbdtParams }[];
  intercept: number;
}

/**
 * A transparent cold-start scorecard: points per signal from stated domain priors, with no
 * labels needed. margin = intercept + Σ weight_j · (x_j − reference_j) over standardised inputs.
 */
export interface ScorecardParams {
  family: "scorecard";
  intercept: number;
  weights: number[];
  /** Why each weight has its sign and size, in the user's words. */
  rationale: Record<string, string>;
  /** Why no ML model was fitted (fewer than 200 labelled rows, or no label). */
  reason: string;
}

export type ModelParams = LogisticParams | GbdtParams | MlpParams | BlendParams | ScorecardParams;

/**
 * Calibration maps the model's raw probability to a calibrated one, fitted on out-of-fold
 * predictions. `bins` back the interval: for calibrated probabilities in [from, to), n accounts
 * out of fold of which `positives` churned; lo/hi is a 90% interval for their churn rate.
 */
export interface Calibration {
  method: "isotonic" | "platt" | "none";
  /** Isotonic: step function knots (raw probability upper bounds → calibrated value). */
  knots?: { x: number[]; y: number[] };
  /** Platt: p = sigmoid(a · margin + b). */
  platt?: { a: number; b: number };
  bins: { from: number; to: number; n: number; positives: number; lo: number; hi: number }[];
}

/** Probability cut-offs: red at or above `red`, yellow at or above `yellow`, green below. */
export interface TierThresholds {
  red: number;
  yellow: number;
}

export const DEFAULT_TIERS: TierThresholds = { red: 0.7, yellow: 0.4 };

/** Days after a score in which a churn counts against it, when an artifact does not say. */
export const DEFAULT_HORIZON_DAYS = 90;

/**
 * A numeric signal on the training rows: quantile cut points and the share of all rows in each
 * bin. Bin 0 holds values below `edges[0]`, bin k values in [edges[k-1], edges[k]), the last bin
 * values at or above the last edge; `missing` is the share of rows without a readable number.
 * `shares` and `missing` sum to 1.
 */
export interface NumericReference {
  kind: "numeric";
  edges: number[];
  shares: number[];
  missing: number;
}

/**
 * A Yes/No-like or categorical signal on the training rows: the share of rows per level (for a
 * Yes/No-like signal the levels are its true and false spellings, in that order), of values
 * outside the levels (`other`: rare levels dropped in training, unreadable values) and of
 * missing values.
 */
export interface LevelReference {
  kind: "levels";
  levels: string[];
  shares: number[];
  other: number;
  missing: number;
}

/**
 * What the training data looked like, for drift monitoring: each signal's distribution and that
 * of the calibrated out-of-fold probabilities (deciles). Monitoring compares the accounts'
 * current signals and probabilities with these by the population stability index.
 */
export interface ReferenceDistributions {
  /** Training rows the feature distributions describe. */
  rows: number;
  features: Record<string, NumericReference | LevelReference>;
  /** Calibrated out-of-fold probabilities (a scorecard's own, on its CSV) in quantile bins. */
  prediction: { rows: number; edges: number[]; shares: number[] };
}

/** The oldest and newest value of a column (as written in the CSV). */
export interface DateRange {
  column: string;
  from: string;
  to: string;
}

/** The recipe a model was fitted with: family (logistic, gbdt, mlp, blend, scorecard), name and settings. */
export interface RecipeFacts {
  family: string;
  name: string | null;
  /** The effective settings (defaults filled in); a blend's are its weight and both members'. Null when not recorded. */
  hyperparameters: Record<string, unknown> | null;
}

/**
 * How a hold-out was drawn: a stratified random `fraction` of the labelled rows (seeded), or the
 * newest `fraction` by `timeColumn` (with the range of that column it covers).
 */
export interface HoldoutDefinition {
  method: "stratified" | "newest";
  fraction: number;
  seed: number;
  timeColumn: string | null;
  rows: number;
  positives: number | null;
  /** With `method: "newest"`: the oldest and newest `timeColumn` values in the hold-out. */
  range?: DateRange | null;
}

/** A signal (a CSV column) and its mean |SHAP| contribution on the hold-out, in log-odds. */
export interface SignalImportance {
  name: string;
  meanAbsShap: number;
}

export interface ModelArtifact {
  format: typeof MODEL_FORMAT;
  formatVersion: typeof MODEL_FORMAT_VERSION;
  /** Unique version id, e.g. `churn-20261122-140512-3fa1c2`. */
  version: string;
  createdAt: string;
  target: "churn" | "expansion";
  label: { column: string; positive: string };
  idColumn: string | null;
  arrColumn: string | null;
  features: FeatureSpec[];
  /** Mean of every encoded column on the training rows: the SHAP reference point. */
  baseline: number[];
  model: ModelParams;
  /** Absent in format 1: probabilities are used as the model gives them. */
  calibration?: Calibration;
  tiers: TierThresholds;
  /** Expansion models only: the calibrated probability at or above which an account is ready. */
  readyThreshold?: number;
  /**
   * Days after a score in which the predicted outcome counts (the label's horizon); monitoring
   * judges a score once they have passed. Absent in older artifacts: DEFAULT_HORIZON_DAYS.
   */
  horizonDays?: number;
  metrics: Record<string, number | string | boolean | null | Record<string, unknown> | unknown[]>;
  training: {
    dataSha256: string;
    dataFile: string;
    rows: number;
    positives: number;
    holdoutRows: number;
    seed: number;
    excludedColumns: { name: string; reason: string }[];
    /** The `--time` column's oldest and newest values among the labelled rows; null without `--time`. Absent in older artifacts. */
    dateRange?: DateRange | null;
    /** The shipped recipe: its family, candidate name and effective hyperparameters. Absent in older artifacts (`metrics.recipe` names it). */
    recipe?: RecipeFacts;
    /** How the hold-out the metrics were measured on was drawn. Absent in older artifacts. */
    holdout?: HoldoutDefinition;
    /** Every signal by mean |SHAP| on the hold-out (log-odds), largest first. Absent in older artifacts. */
    importance?: SignalImportance[];
  };
  /** Training distributions for drift monitoring; absent in older artifacts (no drift figures). */
  reference?: ReferenceDistributions;
}

/** Everything an artifact holds except its format tag: what `buildArtifact` assembles. */
export type ArtifactPieces = Omit<ModelArtifact, "format" | "formatVersion">;

/**
 * Assembles a complete artifact from its pieces, once all of them are known, in the one key
 * order every `model.json` uses (optional pieces left out when absent). It checks nothing:
 * `parseArtifact` judges an artifact where one is read.
 *
 * @example
 *   const artifact = buildArtifact({
 *     version, createdAt, target: "churn", label: { column: "Churn", positive: "Yes" }, idColumn: "customerID", arrColumn: null,
 *     features, baseline, model, calibration, tiers: { ...DEFAULT_TIERS }, horizonDays: 90, metrics, training, reference,
 *   });
 */
export function buildArtifact(p: ArtifactPieces): ModelArtifact {
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    version: p.version,
    createdAt: p.createdAt,
    target: p.target,
    label: p.label,
    idColumn: p.idColumn,
    arrColumn: p.arrColumn,
    features: p.features,
    baseline: p.baseline,
    model: p.model,
    ...(p.calibration !== undefined ? { calibration: p.calibration } : {}),
    tiers: p.tiers,
    ...(p.readyThreshold !== undefined ? { readyThreshold: p.readyThreshold } : {}),
    ...(p.horizonDays !== undefined ? { horizonDays: p.horizonDays } : {}),
    metrics: p.metrics,
    training: p.training,
    ...(p.reference !== undefined ? { reference: p.reference } : {}),
  };
}

/** Parses and checks a model.json document; throws a readable Error on anything malformed. */
export function parseArtifact(json: unknown): ModelArtifact {
  const a = json as Partial<ModelArtifact> | null;
  if (!a || typeof a !== "object") throw new Error("model artifact is not a JSON object");
  if (a.format !== MODEL_FORMAT) throw new Error(`not a Foresight model (format is ${JSON.stringify(a.format)})`);
  if (!READABLE_VERSIONS.includes(a.formatVersion as number)) throw new Error(`unsupported model format version ${a.formatVersion}; this build reads ${READABLE_VERSIONS.join(" and ")}`);
  if (typeof a.version !== "string" || !/^[A-Za-z0-9._-]{1,100}$/.test(a.version)) throw new Error("model artifact has no valid version");
  if (!Array.isArray(a.features) || a.features.length === 0) throw new Error("model artifact has no features");
  const width = a.features.reduce((n, f) => n + featureWidth(f), 0);
  checkParams(a.model, width);
  if (!Array.isArray(a.baseline) || a.baseline.length !== width) throw new Error("model baseline does not match its features");
  const t = a.tiers;
  if (!t || !(t.red > 0 && t.red <= 1 && t.yellow >= 0 && t.yellow <= t.red)) throw new Error("model tier thresholds are invalid");
  if (a.horizonDays !== undefined && !(Number.isInteger(a.horizonDays) && a.horizonDays >= 1)) throw new Error("model horizonDays must be a whole number of days >= 1");
  if (a.reference !== undefined) checkReference(a.reference);
  return a as ModelArtifact;
}

function checkBins(edges: unknown, shares: unknown, what: string): void {
  if (!Array.isArray(edges) || !Array.isArray(shares) || shares.length !== edges.length + 1 || edges.some((e, k) => !Number.isFinite(e) || (k > 0 && e <= edges[k - 1]))) {
    throw new Error(`model reference for ${what} is malformed (edges must ascend, with one more share than edges)`);
  }
}

function checkReference(r: ReferenceDistributions): void {
  if (!r || typeof r !== "object" || !r.features || typeof r.features !== "object" || !r.prediction) throw new Error("model reference distributions are malformed");
  checkBins(r.prediction.edges, r.prediction.shares, "the prediction");
  for (const [name, f] of Object.entries(r.features)) {
    if (f.kind === "numeric") checkBins(f.edges, f.shares, name);
    else if (f.kind !== "levels" || !Array.isArray(f.levels) || !Array.isArray(f.shares) || f.levels.length !== f.shares.length) throw new Error(`model reference for ${name} is malformed`);
  }
}

function checkParams(m: ModelParams | undefined, width: number): void {
  if (!m) throw new Error("model artifact has no model");
  if (m.family === "logistic" || m.family === "scorecard") {
    if (!Array.isArray(m.weights) || m.weights.length !== width) throw new Error(`model has ${m.weights?.length} weights for ${width} encoded columns`);
  } else if (m.family === "gbdt") {
    if (!(m.trees >= 0) || typeof m.nodes !== "object") throw new Error("tree ensemble is malformed");
  } else if (m.family === "mlp") {
    if (!Array.isArray(m.layers) || m.layers[0]?.inputs !== width) throw new Error("MLP input size does not match the features");
  } else if (m.family === "blend") {
    if (!Array.isArray(m.members) || m.members.length === 0) throw new Error("blend has no members");
    for (const member of m.members) checkParams(member.model, width);
  } else throw new Error(`unknown model family ${JSON.stringify((m as { family?: unknown }).family)}`);
}


/** The risk tier of a calibrated churn probability under the model's thresholds. */
export function riskTier(probability: number, tiers: TierThresholds): RiskTier {
  if (probability >= tiers.red) return "red";
  if (probability >= tiers.yellow) return "yellow";
  return "green";
}
