/**
 * Reference distributions for drift monitoring: training records each signal's distribution
 * (quantile bins for numbers, shares per level otherwise) and that of its out-of-fold
 * probabilities; the Worker counts the accounts' current signals into the same bins and
 * compares by the population stability index. Both sides bin a value with `bucketOf`, so a
 * value lands in the same bin whether it came from a CSV cell or a JSON signal.
 */
import { psi } from "../metrics";
import type { LevelReference, NumericReference, ReferenceDistributions } from "./artifact";
import { type FeatureSpec, isMissing, type RawValue, toBoolean, toNumber } from "./features";

/** Quantile bins per numeric signal and for the probabilities (deciles). */
export const REFERENCE_BINS = 10;

/** Six significant digits: enough to tell bins apart, short in model.json. */
function round6(v: number): number {
  return Number(v.toPrecision(6));
}

/** Shares rounded to 1e-5, below the PSI floor, so they stay small in model.json. */
function roundShare(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}

/**
 * Interior quantile cut points of `values` (finite numbers, any order) for `bins` bins: the
 * values at k/bins for k = 1..bins-1, rounded, deduplicated, and above the minimum (so no bin
 * is empty by construction). Heavily tied data yields fewer bins, e.g. a 0/1 count gets [1].
 */
export function quantileEdges(values: ArrayLike<number>, bins = REFERENCE_BINS): number[] {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = round6(sorted[Math.min(sorted.length - 1, Math.floor((k / bins) * sorted.length))]);
    if (e > sorted[0] && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
  }
  return edges;
}

/** The bin of `v` under `edges`: how many edges are at or below it (see NumericReference). */
export function binOf(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Where one raw value of a signal falls: an index into the reference's bins followed by its
 * extra slots, i.e. `[...bins, missing]` for a numeric signal and `[...levels, other, missing]`
 * otherwise. The rules follow `encodeRow`: a known categorical level wins over the missing-word
 * check; a number or Yes/No value that cannot be read counts as missing (numbers) or other.
 */
export function bucketOf(f: FeatureSpec, ref: NumericReference | LevelReference, value: RawValue): number {
  if (ref.kind === "numeric") {
    const v = isMissing(value) ? NaN : toNumber(value);
    return Number.isFinite(v) ? binOf(ref.edges, v) : ref.shares.length;
  }
  const n = ref.levels.length;
  if (f.kind === "boolean") {
    if (isMissing(value)) return n + 1;
    const b = toBoolean(f, value);
    return b === 1 ? 0 : b === 0 ? 1 : n;
  }
  const level = value === null || value === undefined ? -1 : ref.levels.indexOf(String(value).trim());
  if (level >= 0) return level;
  return isMissing(value) ? n + 1 : n;
}

/** How many slots `bucketOf` can return for this reference. */
export function slotCount(ref: NumericReference | LevelReference): number {
  return ref.kind === "numeric" ? ref.shares.length + 1 : ref.levels.length + 2;
}

/** The reference's shares in `bucketOf`'s slot order. */
export function referenceShares(ref: NumericReference | LevelReference): number[] {
  return ref.kind === "numeric" ? [...ref.shares, ref.missing] : [...ref.shares, ref.other, ref.missing];
}

/** One signal's training distribution from its raw values (CSV cells or JSON signals). */
export function featureReference(f: FeatureSpec, values: readonly RawValue[]): NumericReference | LevelReference {
  let ref: NumericReference | LevelReference;
  if (f.kind === "numeric") {
    const numbers = values.map((v) => (isMissing(v) ? NaN : toNumber(v))).filter(Number.isFinite);
    const edges = quantileEdges(numbers);
    ref = { kind: "numeric", edges, shares: new Array<number>(edges.length + 1).fill(0), missing: 0 };
  } else {
    const levels = f.kind === "boolean" ? [f.trueValues[0] ?? "true", f.falseValues[0] ?? "false"] : [...f.levels];
    ref = { kind: "levels", levels, shares: new Array<number>(levels.length).fill(0), other: 0, missing: 0 };
  }
  const counts = new Float64Array(slotCount(ref));
  for (const v of values) counts[bucketOf(f, ref, v)]++;
  const share = (c: number) => roundShare(values.length ? c / values.length : 0);
  const k = ref.kind === "numeric" ? ref.shares.length : ref.levels.length;
  for (let j = 0; j < k; j++) ref.shares[j] = share(counts[j]);
  if (ref.kind === "numeric") ref.missing = share(counts[k]);
  else {
    ref.other = share(counts[k]);
    ref.missing = share(counts[k + 1]);
  }
  return ref;
}

/** Quantile bins of probabilities and the share of them in each. */
export function predictionReference(probabilities: ArrayLike<number>): ReferenceDistributions["prediction"] {
  const edges = quantileEdges(probabilities);
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < probabilities.length; i++) counts[binOf(edges, probabilities[i])]++;
  return { rows: probabilities.length, edges, shares: Array.from(counts, (c) => roundShare(c / Math.max(1, probabilities.length))) };
}

/**
 * The reference distributions of a model: every feature over `records` (the rows the shipped
 * model learnt from) and `probabilities` (its calibrated out-of-fold probabilities).
 *
 * @example
 *   artifact.reference = buildReference(artifact.features, rows.map((i) => file.records[i]), oofCalibrated);
 */
export function buildReference(features: FeatureSpec[], records: readonly Record<string, RawValue>[], probabilities: ArrayLike<number>): ReferenceDistributions {
  return {
    rows: records.length,
    features: Object.fromEntries(features.map((f) => [f.name, featureReference(f, records.map((r) => r[f.name]))])),
    prediction: predictionReference(probabilities),
  };
}

/** PSI of one signal: its current values against the reference, and the two distributions. */
export interface FeatureDrift {
  psi: number;
  /** Shares in `bucketOf` slot order: numeric `[...bins, missing]`, else `[...levels, other, missing]`. */
  expected: number[];
  actual: number[];
}

/**
 * Counts current values into a model's reference bins, one account at a time, and reports the
 * PSI per signal and of the probabilities. Memory is one small array per signal, so a whole
 * portfolio can stream through it page by page.
 *
 * @example
 *   const drift = new DriftCounter(artifact);
 *   for (const a of accounts) drift.add(a.features, scorer.probability(a.features));
 *   drift.result().features.tenure.psi;
 */
export class DriftCounter {
  private readonly counts: Float64Array[];
  private readonly specs: { f: FeatureSpec; ref: NumericReference | LevelReference }[];
  private readonly prediction: Float64Array;
  accounts = 0;

  constructor(
    features: FeatureSpec[],
    private readonly reference: ReferenceDistributions,
  ) {
    this.specs = features.filter((f) => reference.features[f.name]).map((f) => ({ f, ref: reference.features[f.name] }));
    this.counts = this.specs.map((s) => new Float64Array(slotCount(s.ref)));
    this.prediction = new Float64Array(reference.prediction.shares.length);
  }

  add(signals: Record<string, RawValue>, probability: number): void {
    this.accounts++;
    for (let k = 0; k < this.specs.length; k++) this.counts[k][bucketOf(this.specs[k].f, this.specs[k].ref, signals[this.specs[k].f.name])]++;
    if (Number.isFinite(probability)) this.prediction[binOf(this.reference.prediction.edges, probability)]++;
  }

  result(): { features: Record<string, FeatureDrift>; prediction: FeatureDrift } {
    const shares = (c: Float64Array) => Array.from(c, (v) => (this.accounts ? v / this.accounts : 0));
    const features: Record<string, FeatureDrift> = {};
    this.specs.forEach((s, k) => {
      const expected = referenceShares(s.ref);
      const actual = shares(this.counts[k]);
      features[s.f.name] = { psi: psi(expected, actual), expected, actual };
    });
    const expected = this.reference.prediction.shares;
    const actual = shares(this.prediction);
    return { features, prediction: { psi: psi(expected, actual), expected, actual } };
  }
}
