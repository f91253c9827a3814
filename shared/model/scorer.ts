/**
 * The one scoring entry point used by the Worker, the start script and the evaluate CLI:
 * raw signals in; calibrated churn probability, interval, confidence, tier, imputed features
 * and drivers out. Every family reduces to a "margin model" (log-odds) with SHAP values.
 */
import { type ModelArtifact, type ModelParams, parseArtifact, type RiskTier, riskTier } from "./artifact";
import { calibrate, certainty, type Confidence } from "./calibration";
import { nextAction } from "./cs-signals";
import { encodedOwners, encodeRow, type FeatureSpec, type RawValue, unseenLevels } from "./features";
import { GbdtScorer } from "./gbdt";
import { LogisticScorer, sigmoid } from "./logistic";
import { MlpScorer } from "./mlp";

/** One user column's signed contribution to the churn log-odds. */
export interface Driver {
  feature: string;
  value: RawValue;
  /** Contribution to the log-odds of churn (before calibration); positive raises risk. */
  contribution: number;
  effect: "raises risk" | "lowers risk";
  phrase: string;
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
  /** What a CSM should do next, from the driver that raises risk the most. */
  nextAction: string;
  modelVersion: string;
}

/** Anything that turns an encoded row into log-odds and (ideally exact) SHAP values. */
interface MarginModel {
  readonly baseValue: number;
  /** Tree models want missing inputs as NaN; linear ones want them filled. */
  readonly missingAsNaN: boolean;
  readonly exact: boolean;
  margin(x: Float64Array, offset?: number): number;
  contributions(x: Float64Array, owners: Int32Array, out: Float64Array, offset?: number): void;
}

/** The linear and tree scorers already compute margins and exact SHAP; this names their needs. */
class Exact implements MarginModel {
  readonly exact = true;
  constructor(
    private readonly s: LogisticScorer | GbdtScorer,
    readonly missingAsNaN: boolean,
  ) {}
  get baseValue() {
    return this.s.baseValue;
  }
  margin(x: Float64Array, offset = 0) {
    return this.s.margin(x, offset);
  }
  contributions(x: Float64Array, owners: Int32Array, out: Float64Array, offset = 0) {
    this.s.contributions(x, owners, out, offset);
  }
}

/** MLP drivers are not exact: each user column's inputs are reset to the training mean in turn. */
class Mlp implements MarginModel {
  readonly missingAsNaN = false;
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
  margin(x: Float64Array, offset = 0) {
    return this.s.margin(x, offset);
  }
  contributions(x: Float64Array, owners: Int32Array, out: Float64Array, offset = 0) {
    const full = this.s.margin(x, offset);
    for (let j = 0; j < this.scratch.length; j++) this.scratch[j] = x[offset + j];
    let start = 0;
    while (start < owners.length) {
      let end = start;
      while (end < owners.length && owners[end] === owners[start]) end++;
      for (let j = start; j < end; j++) this.scratch[j] = this.baseline[j];
      out[owners[start]] += full - this.s.margin(this.scratch);
      for (let j = start; j < end; j++) this.scratch[j] = x[offset + j];
      start = end;
    }
  }
}

/** A blend's margin and SHAP values are the weighted sums of its members'. */
class Blend implements MarginModel {
  readonly missingAsNaN = false;
  readonly exact: boolean;
  readonly baseValue: number;
  private readonly scratch: Float64Array;
  constructor(
    private readonly members: { weight: number; model: MarginModel }[],
    private readonly intercept: number,
    groups: number,
  ) {
    this.exact = members.every((m) => m.model.exact);
    this.baseValue = intercept + members.reduce((a, m) => a + m.weight * m.model.baseValue, 0);
    this.scratch = new Float64Array(groups);
  }
  /** `x` holds the filled encoding, `xNaN` the NaN-for-missing one; each member reads its own. */
  marginPair(x: Float64Array, xNaN: Float64Array): number {
    let z = this.intercept;
    for (const m of this.members) z += m.weight * m.model.margin(m.model.missingAsNaN ? xNaN : x);
    return z;
  }
  contributionsPair(x: Float64Array, xNaN: Float64Array, owners: Int32Array, out: Float64Array): void {
    for (const m of this.members) {
      this.scratch.fill(0);
      m.model.contributions(m.model.missingAsNaN ? xNaN : x, owners, this.scratch);
      for (let i = 0; i < out.length; i++) out[i] += m.weight * this.scratch[i];
    }
  }
  margin(): number {
    throw new Error("use marginPair");
  }
  contributions(): void {
    throw new Error("use contributionsPair");
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

export class Scorer {
  readonly artifact: ModelArtifact;
  readonly width: number;
  private readonly model: MarginModel;
  private readonly owners: Int32Array;
  private readonly spec: FeatureSpec[];
  private readonly x: Float64Array;
  private readonly xNaN: Float64Array;
  private readonly contrib: Float64Array;

  constructor(artifact: ModelArtifact) {
    this.artifact = artifact;
    this.spec = artifact.features;
    this.owners = encodedOwners(this.spec);
    this.width = this.owners.length;
    this.model = marginModel(artifact.model, artifact.baseline, this.spec.length);
    this.x = new Float64Array(this.width);
    this.xNaN = new Float64Array(this.width);
    this.contrib = new Float64Array(this.spec.length);
  }

  /** Builds a scorer from model.json text or parsed JSON, refusing malformed artifacts. */
  static fromJSON(json: string | unknown): Scorer {
    return new Scorer(parseArtifact(typeof json === "string" ? JSON.parse(json) : json));
  }

  private encode(features: Record<string, RawValue>): string[] {
    const m = this.model;
    if (m instanceof Blend) {
      encodeRow(this.spec, features, this.xNaN, 0, true);
      return encodeRow(this.spec, features, this.x, 0, false);
    }
    return encodeRow(this.spec, features, this.x, 0, m.missingAsNaN);
  }

  private rawMargin(): number {
    const m = this.model;
    return m instanceof Blend ? m.marginPair(this.x, this.xNaN) : m.margin(this.x);
  }

  /** The model's log-odds before calibration. */
  margin(features: Record<string, RawValue>): number {
    this.encode(features);
    return this.rawMargin();
  }

  /** Calibrated churn probability only: the hot path for evaluation and batch work. */
  probability(features: Record<string, RawValue>): number {
    const z = this.margin(features);
    return calibrate(this.artifact.calibration, sigmoid(z), z);
  }

  /** Probability with interval, confidence, tier, imputed features and drivers (largest first). */
  score(features: Record<string, RawValue>, maxDrivers = 10): Score {
    const imputed = this.encode(features);
    const margin = this.rawMargin();
    const p = calibrate(this.artifact.calibration, sigmoid(margin), margin);
    this.contrib.fill(0);
    const m = this.model;
    if (m instanceof Blend) m.contributionsPair(this.x, this.xNaN, this.owners, this.contrib);
    else m.contributions(this.x, this.owners, this.contrib);
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
      nextAction: nextAction(drivers),
      modelVersion: this.artifact.version,
    };
  }
}

/** "PaymentMethod" → "payment method", "logins_30d" → "logins 30d". */
export function humanize(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\s]+/g, " ")
    .trim()
    .toLowerCase();
}

/** A driver in words, e.g. "month-to-month contract raises risk". */
function phrase(f: FeatureSpec, value: RawValue, imputed: boolean, effect: string): string {
  const name = humanize(f.name);
  if (imputed) return `${name} is missing, which ${effect} in this model`;
  if (f.kind === "categorical") return `${String(value).toLowerCase()} ${name} ${effect}`;
  if (f.kind === "boolean") return `${name}: ${String(value).toLowerCase()} ${effect}`;
  return `${name} of ${value} ${effect}`;
}
