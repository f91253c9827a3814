/**
 * Expansion readiness: whether an account is ready for an upsell conversation, and why.
 *
 * With a trained expansion model (target `expansion`, labelled by `expanded` outcomes) the
 * answer is that model's calibrated probability against its threshold: `source: "model"`.
 * Until then it comes from a transparent cold-start scorecard built on the product brief's
 * definition, high engagement, low feature saturation and low churn risk: `source: "scorecard"`.
 *
 * Either way an account is expansion-ready only while its churn probability is below 0.40; an
 * expansion-ready account is in the blue portfolio tier. Pure TypeScript, no I/O.
 */
import type { PortfolioTier, RiskTier } from "../tiers";
import { type FeatureSpec, isMissing, type NumericFeature, type RawValue, toNumber } from "../model/features";
import type { Scorer } from "../model/scorer";
import { sigmoid } from "../model/sigmoid";
import { recogniseSignal, words } from "./signals";

/** An account is never called expansion-ready at or above this churn probability. */
export const EXPANSION_CHURN_CEILING = 0.4;
/** The scorecard's readiness threshold. */
export const SCORECARD_THRESHOLD = 0.6;

/**
 * The scorecard's points, in log-odds of readiness. An average account (engagement at the
 * portfolio mean, half its add-ons adopted, churn 25%) sits at −1.0, about 0.27: not ready.
 */
export const EXPANSION_PRIORS = {
  intercept: -1.0,
  /** Per standard deviation of engagement above the portfolio mean (clipped to ±3). */
  engagement: 0.8,
  /** Per unit of room to grow (0.5 − saturation, saturation in [0, 1]). */
  room: 2.0,
  /** Per unit of churn probability below 0.25. */
  retention: 3.0,
} as const;

export interface Expansion {
  expansionReady: boolean;
  expansionProbability: number;
  /** One sentence a CSM can read out: why the account is (or is not) ready. */
  reason: string;
  source: "model" | "scorecard";
  /** The expansion model's version, or null for the scorecard. */
  modelVersion: string | null;
  threshold: number;
}

/** Blue when expansion-ready (which implies churn below 0.40), otherwise the risk tier. */
export function portfolioTier(riskTier: RiskTier, expansionReady: boolean): PortfolioTier {
  return expansionReady ? "blue" : riskTier;
}

// Column words that mark a product add-on, module or service an account can adopt.
const ADDON_WORDS = ["service", "services", "streaming", "backup", "security", "protection", "support", "addon", "addons", "module", "modules", "lines", "integration", "integrations", "sso", "premium", "feature", "features", "seats"];


/** The user columns the scorecard reads, found once per churn model's feature spec. */
export interface ExpansionSignals {
  /** Engagement signals and their direction (+1: more is more engaged). */
  engagement: { feature: NumericFeature; sign: 1 | -1; words: string }[];
  /** Numeric adoption signals (more adopted = more saturated). */
  adoption: NumericFeature[];
  /** Yes/No add-on columns: the share adopted is the saturation. */
  addons: FeatureSpec[];
}

/**
 * Finds the signals the expansion scorecard uses among a churn model's features. Engagement is
 * login/usage activity; when there is none, tenure stands in for it (a customer who stays is
 * engaged), and the reason says so.
 */
export function expansionSignals(spec: FeatureSpec[]): ExpansionSignals {
  const engagement: ExpansionSignals["engagement"] = [];
  const adoption: NumericFeature[] = [];
  const addons: FeatureSpec[] = [];
  const tenure: ExpansionSignals["engagement"] = [];
  for (const f of spec) {
    const signal = recogniseSignal(f.name);
    if (f.kind === "numeric") {
      if (signal === "logins") engagement.push({ feature: f, sign: 1, words: "activity" });
      else if (signal === "sinceLogin") engagement.push({ feature: f, sign: -1, words: "recent activity" });
      else if (signal === "adoption") adoption.push(f);
      else if (words(f.name).includes("tenure")) tenure.push({ feature: f, sign: 1, words: "tenure" });
      continue;
    }
    if (signal !== null) continue;
    const w = words(f.name);
    const yesNo = f.kind === "boolean" || (f.kind === "categorical" && f.levels.some((l) => l.trim().toLowerCase() === "yes"));
    if (yesNo && w.some((x) => ADDON_WORDS.includes(x))) addons.push(f);
  }
  return { engagement: engagement.length ? engagement : tenure, adoption, addons };
}

function adopted(f: FeatureSpec, value: RawValue): boolean | null {
  if (isMissing(value)) return null;
  const text = String(value).trim().toLowerCase();
  if (f.kind === "boolean") {
    if (f.trueValues.some((t) => t.toLowerCase() === text)) return true;
    if (f.falseValues.some((t) => t.toLowerCase() === text)) return false;
    return null;
  }
  return text === "yes" || text === "true";
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 through erf), for "top x% of accounts". */
function phi(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function numberOf(value: RawValue): number | null {
  if (isMissing(value)) return null;
  const x = toNumber(value);
  return Number.isFinite(x) ? x : null;
}

const pct = (p: number) => `${Math.round(p * 100)}%`;

/**
 * The cold-start scorecard: log-odds = intercept + 0.8 × engagement z + 2 × (0.5 − saturation)
 * + 3 × (0.25 − churn), with engagement z the mean of the engagement signals' standardised
 * values (training mean and standard deviation, clipped to ±3), and saturation the share of
 * Yes/No add-ons adopted and the portfolio percentile of numeric adoption. A part with no
 * signal in the data counts as average (z = 0, saturation 0.5) and the reason says it is unknown.
 *
 * @example
 *   expansionScorecard(expansionSignals(churnModel.artifact.features), account.features, 0.08);
 *   // { expansionReady: true, expansionProbability: 0.81, reason: "High engagement (tenure ...", source: "scorecard", ... }
 */
export function expansionScorecard(signals: ExpansionSignals, features: Record<string, RawValue>, churnProbability: number): Expansion {
  const zs: number[] = [];
  let engagementWords = "";
  for (const e of signals.engagement) {
    const x = numberOf(features[e.feature.name]);
    if (x === null || !(e.feature.std > 0)) continue;
    zs.push(Math.max(-3, Math.min(3, (e.sign * (x - e.feature.mean)) / e.feature.std)));
    engagementWords ||= e.words;
  }
  const z = zs.length ? zs.reduce((a, b) => a + b, 0) / zs.length : 0;

  const parts: number[] = [];
  let addonText = "";
  const flags = signals.addons.map((f) => adopted(f, features[f.name])).filter((v): v is boolean => v !== null);
  if (flags.length) {
    const used = flags.filter(Boolean).length;
    parts.push(used / flags.length);
    addonText = `${used} of ${flags.length} add-ons adopted`;
  }
  for (const f of signals.adoption) {
    const x = numberOf(features[f.name]);
    if (x !== null && f.std > 0) parts.push(phi((x - f.mean) / f.std));
  }
  const saturation = parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : 0.5;

  const p = EXPANSION_PRIORS;
  const logit = p.intercept + p.engagement * z + p.room * (0.5 - saturation) + p.retention * (0.25 - churnProbability);
  const probability = sigmoid(logit);
  const ready = probability >= SCORECARD_THRESHOLD && churnProbability < EXPANSION_CHURN_CEILING;

  const engagementText = zs.length
    ? `${z >= 0.5 ? "high" : z <= -0.5 ? "low" : "average"} ${engagementWords} (top ${Math.max(1, Math.round((1 - phi(z)) * 100))}% of accounts)`
    : "engagement unknown (no activity signal)";
  const roomText = parts.length
    ? `${saturation <= 0.4 ? "room to grow" : saturation >= 0.6 ? "little room to grow" : "some room to grow"} (${addonText || `adoption at the ${Math.round(saturation * 100)}th percentile`})`
    : "feature saturation unknown";
  const churnText = `churn risk ${pct(churnProbability)}`;
  const reason = ready
    ? `Expansion-ready: ${engagementText}, ${roomText}, low ${churnText}.`
    : churnProbability >= EXPANSION_CHURN_CEILING
      ? `Not expansion-ready: ${churnText} is at or above ${pct(EXPANSION_CHURN_CEILING)}; retain first.`
      : `Not expansion-ready yet (readiness ${pct(probability)}, needs ${pct(SCORECARD_THRESHOLD)}): ${engagementText}, ${roomText}, ${churnText}.`;
  return { expansionReady: ready, expansionProbability: probability, reason, source: "scorecard", modelVersion: null, threshold: SCORECARD_THRESHOLD };
}

/** Readiness from a trained expansion model: its probability against its threshold. */
export function expansionFromModel(model: Scorer, features: Record<string, RawValue>, churnProbability: number): Expansion {
  const threshold = model.artifact.readyThreshold ?? 0.5;
  const s = model.score(features, 3);
  const ready = s.churnProbability >= threshold && churnProbability < EXPANSION_CHURN_CEILING;
  const top = s.drivers.filter((d) => d.contribution > 0).map((d) => `${d.feature} = ${d.value ?? "missing"}`);
  const why = top.length ? `; strongest signals: ${top.join(", ")}` : "";
  const reason = ready
    ? `Expansion-ready: the expansion model gives ${pct(s.churnProbability)} (threshold ${pct(threshold)}), churn risk ${pct(churnProbability)}${why}.`
    : churnProbability >= EXPANSION_CHURN_CEILING
      ? `Not expansion-ready: churn risk ${pct(churnProbability)} is at or above ${pct(EXPANSION_CHURN_CEILING)}; retain first.`
      : `Not expansion-ready yet: the expansion model gives ${pct(s.churnProbability)}, below its threshold of ${pct(threshold)}.`;
  return { expansionReady: ready, expansionProbability: s.churnProbability, reason, source: "model", modelVersion: model.artifact.version, threshold };
}
