/**
 * Health trajectories as maths: the one function that turns an account's recent path into the
 * trajectory model's inputs (training and the Worker both call it, so they cannot disagree), the
 * `foresight-trajectory` artifact (`parseTrajectoryArtifact` refuses anything else) and
 * `TrajectoryModel`, which forecasts health 30/60/90 days ahead with a 90% interval. Pure
 * TypeScript over typed arrays: runs in Workers.
 *
 * Health is round(100 × (1 − churn probability)), 0–100. Each horizon's trees predict the
 * change of health over the horizon, not its level: trees can only rebuild "health now" as a
 * staircase, and on the synthetic panel (`training/trajectory/synthetic.ts`) level trees were as
 * good at 30 days but worse at 90 (hold-out MAE 5.56 against 4.59). The forecast is health now
 * plus that change, clamped to [0, 100]; a horizon with `scale: "log-odds"` learns the change of
 * the log-odds instead and is mapped back (`toScale`, `fromScale`).
 */
import type { GbdtParams } from "./artifact";
import { type RawValue, toNumber as parseNumber } from "./features";
import { GbdtScorer } from "./gbdt/scorer";

export const TRAJECTORY_FORMAT = "foresight-trajectory";
/**
 * The newest trajectory format: 2 adds a horizon's `scale`. An artifact is written with the oldest
 * version that holds it (1 when every horizon is in health points), so a build that reads only 1
 * refuses a log-odds artifact rather than misreading it; this build reads both.
 */
export const TRAJECTORY_FORMAT_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];
/** Days ahead a trajectory model forecasts by default. */
export const TRAJECTORY_HORIZONS = [30, 60, 90] as const;
/** The lookbacks of the "change over the last N days" inputs. */
export const TRAJECTORY_LOOKBACKS = [30, 90] as const;
/**
 * How far (days) an observation may sit from the day looked for and still count as that day's:
 * weekly points are never more than 3 days from any day, monthly ones (28–31 days apart) from
 * the same day 1 or 3 months on.
 */
export const TRAJECTORY_TOLERANCE_DAYS = 3;

const DAY_MS = 86_400_000;

/**
 * Days since 1970-01-01 of a YYYY-MM-DD day (an ISO time is cut to its day); NaN if unreadable.
 *
 * @example
 *   dayNumber("2026-06-30"); // 20634
 */
export function dayNumber(date: string): number {
  const t = Date.parse(date.slice(0, 10));
  return Number.isFinite(t) ? Math.round(t / DAY_MS) : NaN;
}

/**
 * Days from `asOf` to `date` (negative once it has passed); NaN if either is missing or unreadable.
 *
 * @example
 *   daysUntil("2026-06-30", "2026-09-28"); // 90
 */
export function daysUntil(asOf: string, date: string | null | undefined): number {
  return date ? dayNumber(date) - dayNumber(asOf) : NaN;
}

/** A health point of an account's history (the Worker's `HealthAt` fits). */
export interface HealthPoint {
  date: string;
  health: number;
}

/** An account's signals as of a day (a signal snapshot). */
export interface SignalPoint {
  date: string;
  signals: Readonly<Record<string, RawValue>>;
}

/** What `trajectoryInputs` reads about one account at one day. */
export interface TrajectoryState {
  /** The day forecast from (YYYY-MM-DD). */
  asOf: string;
  /** Health now (0–100). */
  health: number;
  /** Signals now. */
  signals: Readonly<Record<string, RawValue>>;
  /** Days to the next renewal (see `daysUntil`); null or NaN if unknown. */
  daysToRenewal: number | null;
  /** Earlier health points, oldest first; points on or after `asOf` are ignored. */
  healthHistory: readonly HealthPoint[];
  /** Earlier signal snapshots, oldest first; snapshots on or after `asOf` are ignored. */
  signalHistory: readonly SignalPoint[];
}

/**
 * The model's input names, in order: `health`, `health_change_30d`, `health_change_90d`,
 * `days_to_renewal`, then per signal `s`, `s_change_30d`, `s_change_90d`.
 *
 * @example
 *   trajectoryInputNames(["logins_30d"]);
 *   // ["health", "health_change_30d", "health_change_90d", "days_to_renewal", "logins_30d", "logins_30d_change_30d", "logins_30d_change_90d"]
 */
export function trajectoryInputNames(signals: readonly string[]): string[] {
  const changes = (name: string) => TRAJECTORY_LOOKBACKS.map((d) => `${name}_change_${d}d`);
  const names = ["health", ...changes("health"), "days_to_renewal", ...signals.flatMap((s) => [s, ...changes(s)])];
  const dupe = names.find((n, i) => names.indexOf(n) !== i);
  if (dupe !== undefined) throw new Error(`trajectory input "${dupe}" would appear twice; rename the signal`);
  return names;
}

/** A value as the encoder reads numbers (numeric text too); NaN for anything else, infinities included. */
function toNumber(v: RawValue): number {
  const n = parseNumber(v);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * Index of the point nearest to day number `day` (within ±TRAJECTORY_TOLERANCE_DAYS and strictly
 * before day `before`), or -1. Points are oldest first; ties go to the later point. Training
 * finds a pair's target (health h days after a cutoff) with it too.
 *
 * @example
 *   nearestPoint([{ date: "2026-01-01" }, { date: "2026-01-31" }], dayNumber("2026-02-02")); // 1
 */
export function nearestPoint(points: readonly { date: string }[], day: number, before = Infinity): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (dayNumber(points[mid].date) < day - TRAJECTORY_TOLERANCE_DAYS) lo = mid + 1;
    else hi = mid;
  }
  let best = -1;
  let bestGap = Infinity;
  for (let i = lo; i < points.length; i++) {
    const d = dayNumber(points[i].date);
    if (d > day + TRAJECTORY_TOLERANCE_DAYS || d >= before) break;
    if (Math.abs(d - day) <= bestGap) {
      best = i;
      bestGap = Math.abs(d - day);
    }
  }
  return best;
}

/**
 * The trajectory model's inputs for one account at one day, in `trajectoryInputNames(signals)`
 * order: health now; its change over the last 30 and 90 days (health now minus the history's
 * point nearest to that day, within ±3 days); days to renewal; each signal now and its changes
 * the same way from the signal history. Anything unknown is NaN (the trees have a learned
 * direction for missing values). Whole histories may be passed: only points before `asOf` count.
 *
 * @example
 *   const x = trajectoryInputs(model.signals, {
 *     asOf: "2026-11-30", health: 52, signals: { logins_30d: 4 }, daysToRenewal: daysUntil("2026-11-30", account.renewalDate),
 *     healthHistory: account.healthHistory, signalHistory: snapshots, // oldest first
 *   });
 *   model.forecast(x);
 */
export function trajectoryInputs(signals: readonly string[], state: TrajectoryState): Float64Array {
  const x = new Float64Array(4 + 3 * signals.length);
  const today = dayNumber(state.asOf);
  const health = toNumber(state.health);
  x[0] = health;
  TRAJECTORY_LOOKBACKS.forEach((lookback, k) => {
    const i = nearestPoint(state.healthHistory, today - lookback, today);
    x[1 + k] = i < 0 ? NaN : health - toNumber(state.healthHistory[i].health);
  });
  x[3] = state.daysToRenewal === null ? NaN : toNumber(state.daysToRenewal);
  const past = TRAJECTORY_LOOKBACKS.map((lookback) => {
    const i = nearestPoint(state.signalHistory, today - lookback, today);
    return i < 0 ? null : state.signalHistory[i].signals;
  });
  signals.forEach((s, j) => {
    const now = toNumber(state.signals[s]);
    x[4 + 3 * j] = now;
    past.forEach((then, k) => {
      x[5 + 3 * j + k] = then ? now - toNumber(then[s]) : NaN;
    });
  });
  return x;
}

/**
 * A horizon's 90% interval. `conformal`: the forecast ± `halfWidth` (the 90% quantile of
 * absolute errors on a calibration split of cutoffs). `quantile`: health now plus the 5% and 95%
 * quantile trees' change, widened on both sides by `correction` (conformalised on the
 * calibration split; 0 for the raw quantiles).
 */
export type TrajectoryInterval = { method: "conformal"; halfWidth: number } | { method: "quantile"; lower: GbdtParams; upper: GbdtParams; correction: number };

export interface TrajectoryHorizon {
  days: number;
  /** Trees over the inputs (squared error or median): the change of health over `days`, on `scale`. */
  model: GbdtParams;
  interval: TrajectoryInterval;
  /** The scale the trees and the interval work on; absent means "points". */
  scale?: TrajectoryScale;
}

/**
 * The scales a horizon's change may be learnt on. `points`: health points. `log-odds`: the change
 * of logit((health + 0.5) / 101), i.e. of the churn model's log-odds that health comes from
 * (health = 100 × (1 − p)), where a steady drift of the signals moves a calibrated probability
 * by a steady step; near 0 and 100 a step there is a small change in points, so forecasts and
 * intervals stay inside the range without being clamped flat.
 */
export const TRAJECTORY_SCALES = ["points", "log-odds"] as const;
export type TrajectoryScale = (typeof TRAJECTORY_SCALES)[number];

/**
 * Health (0–100) on a horizon's scale.
 *
 * @example
 *   toScale(50, "log-odds"); // 0
 */
export function toScale(health: number, scale: TrajectoryScale = "points"): number {
  if (scale === "points") return health;
  const q = (Math.min(100, Math.max(0, health)) + 0.5) / 101;
  return Math.log(q / (1 - q));
}

/**
 * Back from a horizon's scale to health points (not yet clamped to 0–100).
 *
 * @example
 *   fromScale(toScale(72, "log-odds"), "log-odds"); // 72
 */
export function fromScale(value: number, scale: TrajectoryScale = "points"): number {
  return scale === "points" ? value : 101 / (1 + Math.exp(-value)) - 0.5;
}

export interface TrajectoryArtifact {
  format: typeof TRAJECTORY_FORMAT;
  formatVersion: 1 | typeof TRAJECTORY_FORMAT_VERSION;
  /** Unique version id, e.g. `trajectory-20261122-140512-3fa1c2`. */
  version: string;
  createdAt: string;
  target: "trajectory";
  /** The panel's numeric signal columns, as `trajectoryInputs` reads them. */
  signals: string[];
  /** `trajectoryInputNames(signals)`: the trees' columns in order. */
  inputs: string[];
  horizons: TrajectoryHorizon[];
  metrics: Record<string, number | string | boolean | null | Record<string, unknown> | unknown[]>;
  training: {
    dataSha256: string;
    dataFile: string;
    rows: number;
    accounts: number;
    cutoffs: number;
    idColumn: string;
    dateColumn: string;
    /** Where health came from: the panel's `health` column, or a churn model (its version). */
    health: { source: "column" } | { source: "model"; version: string };
    seed: number;
  };
}

/** Everything a trajectory artifact holds except its format tag and derived input names. */
export type TrajectoryPieces = Omit<TrajectoryArtifact, "format" | "formatVersion" | "target" | "inputs">;

/**
 * Assembles a trajectory artifact in the one key order every such `model.json` uses.
 *
 * @example
 *   const artifact = buildTrajectoryArtifact({ version, createdAt, signals, horizons, metrics, training });
 */
export function buildTrajectoryArtifact(p: TrajectoryPieces): TrajectoryArtifact {
  return {
    format: TRAJECTORY_FORMAT,
    formatVersion: p.horizons.some((h) => (h.scale ?? "points") !== "points") ? TRAJECTORY_FORMAT_VERSION : 1,
    version: p.version,
    createdAt: p.createdAt,
    target: "trajectory",
    signals: p.signals,
    inputs: trajectoryInputNames(p.signals),
    horizons: p.horizons,
    metrics: p.metrics,
    training: p.training,
  };
}

function checkTrees(m: GbdtParams | undefined, what: string): void {
  if (!m || m.family !== "gbdt" || !(m.trees >= 0) || !Number.isFinite(m.baseMargin) || !m.nodes || typeof m.nodes !== "object") throw new Error(`trajectory ${what} is not a tree ensemble`);
}

/**
 * Parses and checks a trajectory model.json document; throws a readable Error on anything else
 * (a churn or expansion artifact included).
 *
 * @example
 *   const artifact = parseTrajectoryArtifact(JSON.parse(text));
 */
export function parseTrajectoryArtifact(json: unknown): TrajectoryArtifact {
  const a = json as Partial<TrajectoryArtifact> | null;
  if (!a || typeof a !== "object") throw new Error("trajectory artifact is not a JSON object");
  if (a.format !== TRAJECTORY_FORMAT) throw new Error(`not a Foresight trajectory model (format is ${JSON.stringify(a.format)})`);
  if (!READABLE_VERSIONS.includes(a.formatVersion as number)) throw new Error(`unsupported trajectory format version ${a.formatVersion}; this build reads ${READABLE_VERSIONS.join(" and ")}`);
  if (typeof a.version !== "string" || !/^[A-Za-z0-9._-]{1,100}$/.test(a.version)) throw new Error("trajectory artifact has no valid version");
  if (a.target !== "trajectory") throw new Error(`trajectory artifact has target ${JSON.stringify(a.target)}, not "trajectory"`);
  if (!Array.isArray(a.signals) || a.signals.some((s) => typeof s !== "string")) throw new Error("trajectory artifact has no signal list");
  const names = trajectoryInputNames(a.signals);
  if (!Array.isArray(a.inputs) || a.inputs.length !== names.length || a.inputs.some((n, i) => n !== names[i])) throw new Error("trajectory inputs do not match its signals");
  if (!Array.isArray(a.horizons) || a.horizons.length === 0) throw new Error("trajectory artifact has no horizons");
  a.horizons.forEach((h, k) => {
    if (!Number.isInteger(h?.days) || h.days < 1 || (k > 0 && h.days <= a.horizons![k - 1].days)) throw new Error("trajectory horizons must be whole days >= 1, ascending");
    checkTrees(h.model, `${h.days}-day model`);
    if (h.scale !== undefined && !TRAJECTORY_SCALES.includes(h.scale)) throw new Error(`trajectory ${h.days}-day scale ${JSON.stringify(h.scale)} is not one of ${TRAJECTORY_SCALES.join(", ")}`);
    if (a.formatVersion === 1 && (h.scale ?? "points") !== "points") throw new Error(`trajectory format version 1 has no scale; a ${h.days}-day scale ${JSON.stringify(h.scale)} needs version 2`);
    const iv = h.interval;
    if (iv?.method === "conformal") {
      if (!(Number.isFinite(iv.halfWidth) && iv.halfWidth >= 0)) throw new Error(`trajectory ${h.days}-day interval half-width is invalid`);
    } else if (iv?.method === "quantile") {
      checkTrees(iv.lower, `${h.days}-day lower quantile`);
      checkTrees(iv.upper, `${h.days}-day upper quantile`);
      if (!Number.isFinite(iv.correction)) throw new Error(`trajectory ${h.days}-day interval correction is invalid`);
    } else throw new Error(`trajectory ${h.days}-day interval has unknown method ${JSON.stringify((iv as { method?: unknown } | undefined)?.method)}`);
  });
  if (!a.metrics || typeof a.metrics !== "object" || !a.training || typeof a.training !== "object") throw new Error("trajectory artifact has no metrics or training record");
  return a as TrajectoryArtifact;
}

/** One horizon's forecast: health `days` ahead and its 90% interval, 0–100, to 0.1. */
export interface TrajectoryForecast {
  days: number;
  health: number;
  lower: number;
  upper: number;
}

const clamp = (h: number) => Math.min(100, Math.max(0, h));
const round1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Forecasts health from a trajectory artifact. Build it once per artifact: it decodes the trees.
 *
 * @example
 *   const model = new TrajectoryModel(parseTrajectoryArtifact(json));
 *   model.forecast(trajectoryInputs(model.signals, state));
 *   // [{ days: 30, health: 48.2, lower: 39.5, upper: 55.1 }, { days: 60, ... }, { days: 90, ... }]
 */
export class TrajectoryModel {
  readonly artifact: TrajectoryArtifact;
  readonly signals: readonly string[];
  readonly inputs: readonly string[];
  private readonly horizons: { days: number; scale: TrajectoryScale; change: GbdtScorer; lower: GbdtScorer | null; upper: GbdtScorer | null; interval: TrajectoryInterval }[];

  constructor(artifact: TrajectoryArtifact) {
    this.artifact = artifact;
    this.signals = artifact.signals;
    this.inputs = artifact.inputs;
    this.horizons = artifact.horizons.map((h) => {
      const iv = h.interval;
      const scorers = { change: new GbdtScorer(h.model), lower: iv.method === "quantile" ? new GbdtScorer(iv.lower) : null, upper: iv.method === "quantile" ? new GbdtScorer(iv.upper) : null };
      for (const s of Object.values(scorers)) if (s && s.width > this.inputs.length) throw new Error(`trajectory ${h.days}-day trees read column ${s.width - 1}, beyond its ${this.inputs.length} inputs`);
      return { days: h.days, scale: h.scale ?? "points", ...scorers, interval: iv };
    });
  }

  /** Parses model.json text or JSON and builds the model, refusing anything but a trajectory artifact. */
  static fromJSON(json: string | unknown): TrajectoryModel {
    return new TrajectoryModel(parseTrajectoryArtifact(typeof json === "string" ? JSON.parse(json) : json));
  }

  /**
   * Health at each horizon with its 90% interval, from `trajectoryInputs(this.signals, state)`.
   * Throws a RangeError when health now (the first input) is unknown.
   */
  forecast(x: Float64Array): TrajectoryForecast[] {
    if (x.length !== this.inputs.length) throw new RangeError(`trajectory model takes ${this.inputs.length} inputs, got ${x.length}`);
    const health = x[0];
    if (!Number.isFinite(health)) throw new RangeError("trajectory forecast needs health now (the first input)");
    return this.horizons.map((h) => {
      const base = toScale(health, h.scale);
      const change = h.change.margin(x);
      const point = fromScale(base + change, h.scale);
      let lower: number;
      let upper: number;
      if (h.interval.method === "conformal") {
        lower = fromScale(base + change - h.interval.halfWidth, h.scale);
        upper = fromScale(base + change + h.interval.halfWidth, h.scale);
      } else {
        // Quantile trees fitted apart may cross the point forecast; the interval always holds it.
        lower = Math.min(point, fromScale(base + (h.lower as GbdtScorer).margin(x) - h.interval.correction, h.scale));
        upper = Math.max(point, fromScale(base + (h.upper as GbdtScorer).margin(x) + h.interval.correction, h.scale));
      }
      return { days: h.days, health: round1(clamp(point)), lower: round1(clamp(lower)), upper: round1(clamp(upper)) };
    });
  }
}
