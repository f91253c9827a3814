/**
 * The one scoring entry point used by the Worker, the start script and the evaluate CLI:
 * raw signals in; calibrated churn probability, interval, confidence, tier, imputed features
 * and drivers out. Every family reduces to a "margin model" (log-odds) with SHAP values.
 * Drivers are numbers only; `shared/cs/wording.ts` puts them in a CSM's words.
 */
import type { RiskTier } from "../tiers";
import { type ModelArtifact, type ModelParams, parseArtifact, riskTier } from "./artifact";
import { calibrate, certainty, type Confidence } from "./calibration";
import { encodedOwners, encodeRow, type FeatureSpec, type RawValue, unseenLevels } from "./features";
import { GbdtScorer } from "./gbdt/scorer";
import { LogisticScorer } from "./logistic";
import { MlpScorer } from "./mlp";
import { sigmoid } from "./sigmoid";

/** One user column's signed contribution to the churn log-odds. */
export interface Driver {
  feature: string;
  /** The column's kind in the feature spec, so a driver can be worded without the spec. */
  kind: FeatureSpec["kind"];
  value: RawValue;
  /** Contribution to the log-odds of churn (before calibration); positive raises risk. */
  contribution: number;
  effect: "raises risk" | "lowers risk";
  /** The value was missing and the model filled it in. */
  imputed: boolean;
}

export interface Score {
  churnProbability: number;
  /** 90% range for the probability; see `certainty` in calibration.ts for its meaning. */
  interval: [number, number];
  confidence: Confidence;
  riskTier: RiskTier;
  drivers: Driver[];
  imputed: string[];
  unseenLevels: string[];
  /** SHAP base value (log-odds); base + Σ contributions = `margin`. */
  baseValue: number;
  /** The model's log-odds before calibration. */
  margin: number;
  /** `exact` (linear SHAP or TreeSHAP) or `occlusion` (MLP: change when a signal is reset to average). */
  driversMethod: "exact" | "occlusion";
  /** The driver that raises risk the most, even when `maxDrivers` left it out of `drivers`; null if none does. */
  topRisk: Driver | null;
  /** False when `maxDrivers` 0 skipped the SHAP computation: no drivers and no top risk. */
  explained: boolean;
  modelVersion: string;
}

/**
 * The driver that raises risk the most (the first of equals), or null when none raises it.
 * Takes any driver-like list, so stored drivers are judged by the same rule as fresh ones.
 *
 * @example
 *   topRiskDriver([{ feature: "tenure", contribution: -0.4 }, { feature: "Contract", contribution: 0.6 }]);
 *   // { feature: "Contract", contribution: 0.6 }
 */
export function topRiskDriver<D extends { contribution: number }>(drivers: readonly D[]): D | null {
  let top: D | null = null;
  for (const d of drivers) if (d.contribution > 0 && (!top || d.contribution > top.contribution)) top = d;
  return top;
}

/** A row encoded both ways: filled for linear models and MLPs, NaN-for-missing for trees. */
interface Encoded {
  filled: Float64Array;
  nan: Float64Array;
}

/** Anything that turns an encoded row into log-odds and (ideally exact) SHAP values. */
interface MarginModel {
  readonly baseValue: number;
  readonly exact: boolean;
  /** Which encodings `margin` reads, so the scorer computes only those. */
  readonly needs: { filled: boolean; nan: boolean };
  margin(x: Encoded): number;
  contributions(x: Encoded, owners: Int32Array, out: Float64Array): void;
}

/** The linear and tree scorers already compute margins and exact SHAP; this picks their input. */
class Exact implements MarginModel {
  readonly exact = true;
  readonly needs: { filled: boolean; nan: boolean };
  constructor(
    private readonly s: LogisticScorer | GbdtScorer,
    private readonly missingAsNaN: boolean,
  ) {
    this.needs = { filled: !missingAsNaN, nan: missingAsNaN };
  }
  get baseValue() {
    return this.s.baseValue;
  }
  margin(x: Encoded) {
    return this.s.margin(this.missingAsNaN ? x.nan : x.filled);
  }
  contributions(x: Encoded, owners: Int32Array, out: Float64Array) {
    this.s.contributions(this.missingAsNaN ? x.nan : x.filled, owners, out);
  }
}

/** MLP drivers are not exact: each user column's inputs are reset to the training mean in turn. */
class Mlp implements MarginModel {
  readonly needs = { filled: true, nan: false };
  readonly exact = false;
  readonly baseValue: number;
  private readonly s: MlpScorer;
  private readonly baseline: Float64Array;
  private readonly scratch: Float64Array;
  constructor(params: Extract<ModelParams, { family: "mlp" }>, baseline: number[]) {
    this.s = new MlpScorer(params);
    this.baseline = Float64Array.from(baseline);
    this.scratch = new Float64Array(baseline.length);
    this.baseValue = this.s.margin(this.baseline);
  }
  margin(x: Encoded) {
    return this.s.margin(x.filled);
  }
  contributions(x: Encoded, owners: Int32Array, out: Float64Array) {
    const full = this.s.margin(x.filled);
    this.scratch.set(x.filled);
    let start = 0;
    while (start < owners.length) {
      let end = start;
      while (end < owners.length && owners[end] === owners[start]) end++;
      for (let j = start; j < end; j++) this.scratch[j] = this.baseline[j];
      out[owners[start]] += full - this.s.margin(this.scratch);
      for (let j = start; j < end; j++) this.scratch[j] = x.filled[j];
      start = end;
    }
  }
}

/** A blend's margin and SHAP values are the weighted sums of its members'. */
class Blend implements MarginModel {
  readonly exact: boolean;
  readonly baseValue: number;
  readonly needs: { filled: boolean; nan: boolean };
  private readonly scratch: Float64Array;
  constructor(
    private readonly members: { weight: number; model: MarginModel }[],
    private readonly intercept: number,
    groups: number,
  ) {
    this.exact = members.every((m) => m.model.exact);
    this.baseValue = intercept + members.reduce((a, m) => a + m.weight * m.model.baseValue, 0);
    this.needs = { filled: members.some((m) => m.model.needs.filled), nan: members.some((m) => m.model.needs.nan) };
    this.scratch = new Float64Array(groups);
  }
  margin(x: Encoded): number {
    let z = this.intercept;
    for (const m of this.members) z += m.weight * m.model.margin(x);
    return z;
  }
  contributions(x: Encoded, owners: Int32Array, out: Float64Array): void {
    for (const m of this.members) {
      this.scratch.fill(0);
      m.model.contributions(x, owners, this.scratch);
      for (let i = 0; i < out.length; i++) out[i] += m.weight * this.scratch[i];
    }
  }
}

function marginModel(params: ModelParams, baseline: number[], groups: number): MarginModel {
  switch (params.family) {
    case "logistic":
    case "scorecard":
      return new Exact(new LogisticScorer({ family: "logistic", intercept: params.intercept, weights: params.weights }, baseline), false);
    case "gbdt":
      return new Exact(new GbdtScorer(params), true);
    case "mlp":
      return new Mlp(params, baseline);
    case "blend":
      return new Blend(
        params.members.map((m) => ({ weight: m.weight, model: marginModel(m.model, baseline, groups) })),
        params.intercept,
        groups,
      );
  }
}

/**
 * Scores raw signals with one model artifact. Build it once per artifact and reuse it: it
 * decodes the model and allocates its scratch buffers up front.
 *
 * @example
 *   const scorer = Scorer.fromJSON(modelJson);
 *   scorer.probability({ tenure: 2, Contract: "Month-to-month" }); // 0.71
 */
export class Scorer {
  readonly artifact: ModelArtifact;
  readonly width: number;
  private readonly model: MarginModel;
  private readonly owners: Int32Array;
  private readonly spec: FeatureSpec[];
  private readonly x: Encoded;
  private readonly contrib: Float64Array;

  constructor(artifact: ModelArtifact) {
    this.artifact = artifact;
    this.spec = artifact.features;
    this.owners = encodedOwners(this.spec);
    this.width = this.owners.length;
    this.model = marginModel(artifact.model, artifact.baseline, this.spec.length);
    this.x = { filled: new Float64Array(this.width), nan: new Float64Array(this.width) };
    this.contrib = new Float64Array(this.spec.length);
  }

  /** Builds a scorer from model.json text or parsed JSON, refusing malformed artifacts. */
  static fromJSON(json: string | unknown): Scorer {
    return new Scorer(parseArtifact(typeof json === "string" ? JSON.parse(json) : json));
  }

  /** Encodes the row the way(s) the model reads it; returns the imputed feature names. */
  private encode(features: Record<string, RawValue>): string[] {
    const { needs } = this.model;
    const imputed = needs.nan ? encodeRow(this.spec, features, this.x.nan, 0, true) : [];
    return needs.filled ? encodeRow(this.spec, features, this.x.filled, 0, false) : imputed;
  }

  /** The model's log-odds before calibration. */
  margin(features: Record<string, RawValue>): number {
    this.encode(features);
    return this.model.margin(this.x);
  }

  /** Calibrated churn probability only: the hot path for evaluation and batch work. */
  probability(features: Record<string, RawValue>): number {
    const z = this.margin(features);
    return calibrate(this.artifact.calibration, sigmoid(z), z);
  }

  /**
   * Probability with interval, confidence, tier, imputed features and drivers (largest first).
   * `maxDrivers` 0 skips the SHAP computation altogether (no drivers, no top risk): the fast
   * path for bulk scoring, several times quicker with tree models.
   *
   * @example
   *   const s = scorer.score({ tenure: 2, Contract: "Month-to-month" }, 3);
   *   s.drivers[0]; // { feature: "Contract", kind: "categorical", value: "Month-to-month", contribution: 0.61, effect: "raises risk", imputed: false }
   */
  score(features: Record<string, RawValue>, maxDrivers = 10): Score {
    const m = this.model;
    const imputed = this.encode(features);
    const margin = m.margin(this.x);
    const p = calibrate(this.artifact.calibration, sigmoid(margin), margin);
    const explain = maxDrivers > 0;
    this.contrib.fill(0);
    if (explain) m.contributions(this.x, this.owners, this.contrib);
    const drivers: Driver[] = [];
    for (let i = 0; explain && i < this.spec.length; i++) {
      const c = this.contrib[i];
      if (c === 0) continue;
      const f = this.spec[i];
      const value = features[f.name] ?? null;
      drivers.push({ feature: f.name, kind: f.kind, value, contribution: c, effect: c > 0 ? "raises risk" : "lowers risk", imputed: imputed.includes(f.name) });
    }
    drivers.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    const unseen = unseenLevels(this.spec, features);
    return {
      churnProbability: p,
      ...certainty(this.artifact.calibration, p, imputed.length, unseen.length),
      riskTier: riskTier(p, this.artifact.tiers),
      drivers: drivers.slice(0, maxDrivers),
      imputed,
      unseenLevels: unseen,
      baseValue: m.baseValue,
      margin,
      driversMethod: m.exact ? "exact" : "occlusion",
      topRisk: topRiskDriver(drivers),
      explained: explain,
      modelVersion: this.artifact.version,
    };
  }
}
