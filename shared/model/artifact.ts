/**
 * The model artifact (`model.json`): a tagged, versioned JSON document holding everything the
 * edge scorer needs (feature spec with encoders, weights, tier thresholds) plus the metrics and
 * provenance a data scientist needs to trust it. `parseArtifact` refuses anything else.
 */
import { type FeatureSpec, width as featureWidth } from "./features";

export const MODEL_FORMAT = "foresight-model";
export const MODEL_FORMAT_VERSION = 1;

/** Logistic regression over the encoded columns: p = sigmoid(intercept + w·x). */
export interface LogisticParams {
  family: "logistic";
  intercept: number;
  weights: number[];
}

export type ModelParams = LogisticParams;

/** Probability cut-offs: red at or above `red`, yellow at or above `yellow`, green below. */
export interface TierThresholds {
  red: number;
  yellow: number;
}

export const DEFAULT_TIERS: TierThresholds = { red: 0.7, yellow: 0.4 };

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
  tiers: TierThresholds;
  metrics: Record<string, number | string | boolean | null | Record<string, unknown> | unknown[]>;
  training: {
    dataSha256: string;
    dataFile: string;
    rows: number;
    positives: number;
    holdoutRows: number;
    seed: number;
    excludedColumns: { name: string; reason: string }[];
  };
}

/** Parses and checks a model.json document; throws a readable Error on anything malformed. */
export function parseArtifact(json: unknown): ModelArtifact {
  const a = json as Partial<ModelArtifact> | null;
  if (!a || typeof a !== "object") throw new Error("model artifact is not a JSON object");
  if (a.format !== MODEL_FORMAT) throw new Error(`not a Foresight model (format is ${JSON.stringify(a.format)})`);
  if (a.formatVersion !== MODEL_FORMAT_VERSION) throw new Error(`unsupported model format version ${a.formatVersion}; this build reads ${MODEL_FORMAT_VERSION}`);
  if (typeof a.version !== "string" || !/^[A-Za-z0-9._-]{1,100}$/.test(a.version)) throw new Error("model artifact has no valid version");
  if (!Array.isArray(a.features) || a.features.length === 0) throw new Error("model artifact has no features");
  const width = a.features.reduce((n, f) => n + featureWidth(f), 0);
  if (!a.model || a.model.family !== "logistic") throw new Error(`unknown model family ${JSON.stringify(a.model?.family)}`);
  if (!Array.isArray(a.model.weights) || a.model.weights.length !== width) throw new Error(`model has ${a.model.weights?.length} weights for ${width} encoded columns`);
  if (!Array.isArray(a.baseline) || a.baseline.length !== width) throw new Error("model baseline does not match its features");
  const t = a.tiers;
  if (!t || !(t.red > 0 && t.red <= 1 && t.yellow >= 0 && t.yellow <= t.red)) throw new Error("model tier thresholds are invalid");
  return a as ModelArtifact;
}

export type RiskTier = "red" | "yellow" | "green";

/** The risk tier of a calibrated churn probability under the model's thresholds. */
export function riskTier(probability: number, tiers: TierThresholds): RiskTier {
  if (probability >= tiers.red) return "red";
  if (probability >= tiers.yellow) return "yellow";
  return "green";
}
