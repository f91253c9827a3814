/**
 * The model's evolution log as pure functions over artifacts: what a version says about its
 * training (`versionFacts`: data, recipe, hold-out metrics and how the hold-out was drawn,
 * calibration, signals by mean |SHAP|) and how one version differs from the one before it
 * (`diffVersions`). `GET /v1/models/{version}/changelog`, the evaluation report's "Model history"
 * and the train summary all read these, so the three agree. Older artifacts, which record less,
 * give nulls (their hold-out definition is derived from what they do record).
 */
import type { DateRange, HoldoutDefinition, ModelArtifact, RecipeFacts, SignalImportance } from "./artifact";
import { TRAJECTORY_FORMAT, type TrajectoryArtifact } from "./trajectory";

/** The hold-out metrics compared between versions (lower is better for all but auc, prAuc and intervalCoverage). */
export const COMPARED_METRICS = ["auc", "prAuc", "brier", "logLoss", "ece", "intervalCoverage"] as const;
export type MetricName = (typeof COMPARED_METRICS)[number];
export type HoldoutMetrics = Record<MetricName, number | null>;

/** Signals listed in a diff's `topSignals`. */
export const TOP_SIGNALS = 10;

export interface DataFacts {
  rows: number | null;
  dateRange: DateRange | null;
  /** sha256 of the training CSV's bytes. */
  sha256: string | null;
  file: string | null;
}

export interface ReliabilityBin {
  from: number;
  to: number;
  n: number;
  meanPredicted: number;
  observed: number;
}

export interface CalibrationFacts {
  method: string | null;
  ece: number | null;
  reliability: ReliabilityBin[] | null;
}

/** A hold-out definition and whether the artifact recorded it (false: derived from its row counts, seed and time column). */
export type HoldoutFacts = HoldoutDefinition & { recorded: boolean };

/** What one version's artifact says about its training. */
export interface VersionFacts {
  version: string;
  target: string;
  createdAt: string;
  data: DataFacts;
  recipe: RecipeFacts;
  metrics: HoldoutMetrics;
  /** Null when the artifact was not measured on a hold-out (a scorecard, an import, a trajectory model). */
  holdout: HoldoutFacts | null;
  calibration: CalibrationFacts;
  /** The model's signals (its feature columns), in artifact order. */
  signals: string[];
  /** Every signal by mean |SHAP| on the hold-out, largest first; null when not recorded. */
  importance: SignalImportance[] | null;
}

const finite = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

/**
 * What an artifact of any format records about its training.
 *
 * @example
 *   const facts = versionFacts(parseArtifact(JSON.parse(json)));
 *   facts.recipe.name; // e.g. "logistic (L2 1e-4)"
 */
export function versionFacts(artifact: ModelArtifact | TrajectoryArtifact): VersionFacts {
  if (artifact.format === TRAJECTORY_FORMAT) {
    const t = artifact.training;
    return {
      version: artifact.version,
      target: artifact.target,
      createdAt: artifact.createdAt,
      data: { rows: finite(t.rows), dateRange: null, sha256: text(t.dataSha256), file: text(t.dataFile) },
      recipe: { family: "gbdt", name: null, hyperparameters: null },
      metrics: Object.fromEntries(COMPARED_METRICS.map((m) => [m, null])) as HoldoutMetrics,
      holdout: null,
      calibration: { method: null, ece: null, reliability: null },
      signals: [...artifact.signals],
      importance: null,
    };
  }
  const { training: t, metrics: m } = artifact;
  return {
    version: artifact.version,
    target: artifact.target,
    createdAt: artifact.createdAt,
    data: { rows: finite(t.rows), dateRange: t.dateRange ?? null, sha256: text(t.dataSha256), file: text(t.dataFile) },
    recipe: t.recipe ?? { family: artifact.model.family, name: text(m.recipe), hyperparameters: null },
    metrics: Object.fromEntries(COMPARED_METRICS.map((k) => [k, finite(m[k])])) as HoldoutMetrics,
    holdout: t.holdout ? { ...t.holdout, recorded: true } : derivedHoldout(artifact),
    calibration: {
      method: artifact.calibration?.method ?? text(m.calibrationMethod),
      ece: finite(m.ece),
      reliability: Array.isArray(m.reliability) ? (m.reliability as ReliabilityBin[]) : null,
    },
    signals: artifact.features.map((f) => f.name),
    importance: t.importance ?? null,
  };
}

/** An older artifact's hold-out, from its row counts, seed and time column; null if it had none. */
function derivedHoldout(a: ModelArtifact): HoldoutFacts | null {
  const { rows, holdoutRows, seed } = a.training;
  if (!(holdoutRows > 0 && rows > 0)) return null;
  const timeColumn = text(a.metrics.timeColumn);
  return {
    method: timeColumn ? "newest" : "stratified",
    fraction: Math.round((holdoutRows / rows) * 100) / 100,
    seed,
    timeColumn,
    rows: holdoutRows,
    positives: finite(a.metrics.holdoutPositives),
    recorded: false,
  };
}

/** A top signal of a version and how it moved since the previous one. */
export interface SignalMove {
  name: string;
  /** 1 = the signal that moves scores most. */
  rank: number;
  meanAbsShap: number;
  /** The previous version's mean |SHAP| and rank for it; null when it did not rank it. */
  previous: number | null;
  previousRank: number | null;
  /** previousRank − rank: positive when the signal moved up; null when not ranked before. */
  rankChange: number | null;
}

export interface HoldoutComparison {
  current: HoldoutFacts | null;
  previous: HoldoutFacts | null;
  /** True when both hold-outs were drawn the same way (method, fraction, seed or time column). */
  sameDefinition: boolean | null;
  /** True when they are also drawn from the same data (same sha256): the deltas then compare the same rows. */
  sameRows: boolean | null;
  note: string;
}

/** One version against the one before it. */
export interface VersionDiff {
  version: string;
  target: string;
  previous: string | null;
  data: { current: DataFacts; previous: DataFacts | null; sameData: boolean | null };
  recipe: { current: RecipeFacts; previous: RecipeFacts | null; changed: boolean | null };
  metrics: { current: HoldoutMetrics; previous: HoldoutMetrics | null; deltas: HoldoutMetrics | null; holdout: HoldoutComparison };
  calibration: { current: CalibrationFacts; previous: CalibrationFacts | null };
  topSignals: SignalMove[];
  signalsAdded: string[];
  signalsDropped: string[];
}

/**
 * How `current` differs from `previous` (null: it has no previous version).
 *
 * @example
 *   const d = diffVersions(versionFacts(v2), versionFacts(v1));
 *   d.metrics.deltas?.auc; // e.g. 0.004: v2 ranks churners a little better
 */
export function diffVersions(current: VersionFacts, previous: VersionFacts | null): VersionDiff {
  const sameData = previous && current.data.sha256 && previous.data.sha256 ? current.data.sha256 === previous.data.sha256 : null;
  const ranks = new Map((previous?.importance ?? []).map((s, k) => [s.name, { rank: k + 1, meanAbsShap: s.meanAbsShap }]));
  const topSignals = (current.importance ?? []).slice(0, TOP_SIGNALS).map((s, k): SignalMove => {
    const before = ranks.get(s.name);
    return { name: s.name, rank: k + 1, meanAbsShap: s.meanAbsShap, previous: before?.meanAbsShap ?? null, previousRank: before?.rank ?? null, rankChange: before ? before.rank - (k + 1) : null };
  });
  return {
    version: current.version,
    target: current.target,
    previous: previous?.version ?? null,
    data: { current: current.data, previous: previous?.data ?? null, sameData },
    recipe: {
      current: current.recipe,
      previous: previous?.recipe ?? null,
      changed: previous ? current.recipe.family !== previous.recipe.family || current.recipe.name !== previous.recipe.name || JSON.stringify(current.recipe.hyperparameters) !== JSON.stringify(previous.recipe.hyperparameters) : null,
    },
    metrics: {
      current: current.metrics,
      previous: previous?.metrics ?? null,
      deltas: previous ? deltas(current.metrics, previous.metrics) : null,
      holdout: compareHoldouts(current.holdout, previous, sameData),
    },
    calibration: { current: current.calibration, previous: previous?.calibration ?? null },
    topSignals,
    signalsAdded: previous ? current.signals.filter((s) => !previous.signals.includes(s)) : [],
    signalsDropped: previous ? previous.signals.filter((s) => !current.signals.includes(s)) : [],
  };
}

function deltas(a: HoldoutMetrics, b: HoldoutMetrics): HoldoutMetrics {
  return Object.fromEntries(COMPARED_METRICS.map((k) => [k, a[k] !== null && b[k] !== null ? a[k]! - b[k]! : null])) as HoldoutMetrics;
}

const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;

/** A hold-out definition in words, e.g. "stratified 20%, seed 42" or "newest 20% by as_of". */
export function describeHoldout(h: HoldoutDefinition): string {
  return h.method === "newest" ? `newest ${pct(h.fraction)} by ${h.timeColumn}` : `stratified ${pct(h.fraction)}, seed ${h.seed}`;
}

function compareHoldouts(current: HoldoutFacts | null, previous: VersionFacts | null, sameData: boolean | null): HoldoutComparison {
  const before = previous?.holdout ?? null;
  const base = { current, previous: before };
  if (!previous) return { ...base, sameDefinition: null, sameRows: null, note: "No previous version to compare with." };
  if (!current || !before) {
    return { ...base, sameDefinition: null, sameRows: null, note: `${!current ? "This version" : previous.version} records no hold-out, so its metrics cannot be compared on the same one.` };
  }
  const differences: string[] = [];
  if (current.method !== before.method || (current.method === "newest" ? current.timeColumn !== before.timeColumn : current.seed !== before.seed)) {
    differences.push(`${describeHoldout(current)} against ${describeHoldout(before)}`);
  } else if (Math.abs(current.fraction - before.fraction) > 0.005) differences.push(`${pct(current.fraction)} held out against ${pct(before.fraction)}`);
  const derived = !current.recorded || !before.recorded ? " (derived for an artifact that did not record it)" : "";
  if (differences.length) return { ...base, sameDefinition: false, sameRows: false, note: `The hold-outs differ: ${differences.join("; ")}${derived}; the deltas compare different rows.` };
  if (sameData) return { ...base, sameDefinition: true, sameRows: true, note: `Same hold-out (${describeHoldout(current)}) on the same data${derived}: the deltas compare the same rows.` };
  return { ...base, sameDefinition: true, sameRows: false, note: `Same hold-out definition (${describeHoldout(current)})${derived}, but on ${sameData === false ? "different" : "unknown"} training data: the hold-out rows differ.` };
}

const signed = (v: number, digits = 3) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;

/**
 * A diff in a few sentences a data scientist can paste into a change log.
 *
 * @example
 *   describeDiff(diff); // "churn-2 against churn-1: 7043 rows on the same data; recipe logistic (L2 1e-4), was blend ...; ..."
 */
export function describeDiff(d: VersionDiff): string {
  if (!d.previous) return `${d.version} has no previous ${d.target} version to compare with.`;
  const parts: string[] = [];
  const rows = d.data.current.rows ?? "?";
  parts.push(`${d.version} against ${d.previous}: ${rows} rows${d.data.sameData ? " on the same data" : d.data.sameData === false ? ` on other data (was ${d.data.previous?.rows ?? "?"} rows)` : ""}.`);
  if (d.recipe.changed) parts.push(`Recipe ${d.recipe.current.name ?? d.recipe.current.family}, was ${d.recipe.previous?.name ?? d.recipe.previous?.family}.`);
  else if (d.recipe.changed === false) parts.push(`Same recipe (${d.recipe.current.name ?? d.recipe.current.family}).`);
  const auc = d.metrics.current.auc;
  const dAuc = d.metrics.deltas?.auc;
  if (auc !== null && dAuc !== null && dAuc !== undefined) parts.push(`Hold-out ROC-AUC ${auc.toFixed(3)} (${signed(dAuc)}); ${d.metrics.holdout.note}`);
  else parts.push(d.metrics.holdout.note);
  if (d.signalsAdded.length) parts.push(`Signals added: ${d.signalsAdded.join(", ")}.`);
  if (d.signalsDropped.length) parts.push(`Signals dropped: ${d.signalsDropped.join(", ")}.`);
  const movers = d.topSignals.filter((s) => s.rankChange !== null && s.rankChange !== 0);
  if (movers.length) parts.push(`Rank changes in the top ${TOP_SIGNALS}: ${movers.map((s) => `${s.name} ${s.rankChange! > 0 ? "up" : "down"} ${Math.abs(s.rankChange!)}`).join(", ")}.`);
  return parts.join(" ");
}
