/**
 * The one scoring entry point used by the Worker, the start script and the evaluate CLI:
 * raw signals in, calibrated churn probability, tier, imputed features and drivers out.
 */
import { type ModelArtifact, parseArtifact, type RiskTier, riskTier } from "./artifact";
import { encodedOwners, encodeRow, type FeatureSpec, type RawValue, unseenLevels } from "./features";
import { LogisticScorer, sigmoid } from "./logistic";

/** One user column's signed contribution to the churn log-odds (exact SHAP). */
export interface Driver {
  feature: string;
  value: RawValue;
  /** Contribution to the log-odds of churn; positive raises risk. */
  contribution: number;
  effect: "raises risk" | "lowers risk";
  phrase: string;
}

export interface Score {
  churnProbability: number;
  riskTier: RiskTier;
  drivers: Driver[];
  imputed: string[];
  unseenLevels: string[];
  /** SHAP base value (log-odds at the training mean); base + Σ contributions = log-odds. */
  baseValue: number;
  modelVersion: string;
}

export class Scorer {
  readonly artifact: ModelArtifact;
  readonly width: number;
  private readonly model: LogisticScorer;
  private readonly owners: Int32Array;
  private readonly spec: FeatureSpec[];
  private readonly x: Float64Array;
  private readonly contrib: Float64Array;

  constructor(artifact: ModelArtifact) {
    this.artifact = artifact;
    this.spec = artifact.features;
    this.owners = encodedOwners(this.spec);
    this.width = this.owners.length;
    this.model = new LogisticScorer(artifact.model, artifact.baseline);
    this.x = new Float64Array(this.width);
    this.contrib = new Float64Array(this.spec.length);
  }

  /** Builds a scorer from model.json text or parsed JSON, refusing malformed artifacts. */
  static fromJSON(json: string | unknown): Scorer {
    return new Scorer(parseArtifact(typeof json === "string" ? JSON.parse(json) : json));
  }

  /** Churn probability only: the hot path for evaluation and batch work. */
  probability(features: Record<string, RawValue>): number {
    encodeRow(this.spec, features, this.x);
    return sigmoid(this.model.margin(this.x));
  }

  /** Probability with tier, imputed features and drivers sorted by absolute contribution. */
  score(features: Record<string, RawValue>, maxDrivers = 10): Score {
    const imputed = encodeRow(this.spec, features, this.x);
    const margin = this.model.margin(this.x);
    const p = sigmoid(margin);
    this.contrib.fill(0);
    this.model.contributions(this.x, this.owners, this.contrib);
    const drivers: Driver[] = [];
    for (let i = 0; i < this.spec.length; i++) {
      const c = this.contrib[i];
      if (c === 0) continue;
      const f = this.spec[i];
      const value = features[f.name] ?? null;
      const effect = c > 0 ? "raises risk" : "lowers risk";
      drivers.push({ feature: f.name, value, contribution: c, effect, phrase: phrase(f, value, imputed.includes(f.name), effect) });
    }
    drivers.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    return {
      churnProbability: p,
      riskTier: riskTier(p, this.artifact.tiers),
      drivers: drivers.slice(0, maxDrivers),
      imputed,
      unseenLevels: unseenLevels(this.spec, features),
      baseValue: this.model.baseValue,
      modelVersion: this.artifact.version,
    };
  }
}

function phrase(f: FeatureSpec, value: RawValue, imputed: boolean, effect: string): string {
  if (imputed) return `${f.name} is missing (imputed), which ${effect.replace("risk", "risk slightly")}`;
  if (f.kind === "categorical") return `${f.name} "${value}" ${effect}`;
  if (f.kind === "boolean") return `${f.name} = ${value} ${effect}`;
  return `${f.name} of ${value} ${effect}`;
}
