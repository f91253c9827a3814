/**
 * Training pairs for the trajectory model: every panel row's inputs (from the shared
 * `trajectoryInputs`, exactly as the Worker computes them), the pairs (row at cutoff t, the same
 * account's health at t + h ± 3 days) per horizon, and the split of pairs by cutoff date into
 * training, calibration and hold-out, purged so nothing fitted has seen a target after the
 * split it is judged on (or, for a model judged elsewhere, the pairs of the newest cutoffs).
 */
import { nearestPoint, trajectoryInputNames, trajectoryInputs } from "../../shared/model/trajectory";
import type { Panel } from "./panel";

/** Every panel row's inputs, row-major, with what the baselines need. */
export interface PanelInputs {
  x: Float64Array;
  rows: number;
  cols: number;
  names: string[];
  /** Least-squares slope of health (points per day) over the row's last 90 days; NaN with fewer than two points. */
  slope: Float64Array;
}

/** The pairs of one horizon: indices into `PanelInputs` rows with their cutoff and target. */
export interface Pairs {
  days: number;
  row: Int32Array;
  /** Index of the pair's account in `panel.accounts`. */
  account: Int32Array;
  cutoff: Int32Array;
  /** Day number of the row the target came from (t + days ± 3). */
  targetDay: Int32Array;
  /** Health at t + days. */
  target: Float64Array;
}

/** Positions into a `Pairs`, by role; each with the cutoff days it spans. */
export interface PairSplit {
  train: Int32Array;
  calibration: Int32Array;
  holdout: Int32Array;
  /** What the shipped model fits on: every pair whose target is known by the first hold-out cutoff. */
  final: Int32Array;
  holdoutFrom: number;
  calibrationFrom: number;
}

const SLOPE_WINDOW_DAYS = 90;

/**
 * Inputs of every panel row, in account order then date order (`rowOf[a][k]` is account a's
 * k-th row).
 *
 * @example
 *   const { inputs, rowOf } = panelInputs(panel);
 *   inputs.x.subarray(rowOf[0][3] * inputs.cols, (rowOf[0][3] + 1) * inputs.cols);
 */
export function panelInputs(panel: Panel): { inputs: PanelInputs; rowOf: number[][] } {
  const names = trajectoryInputNames(panel.signals);
  const cols = names.length;
  const x = new Float64Array(panel.rows * cols);
  const slope = new Float64Array(panel.rows);
  const rowOf: number[][] = [];
  let at = 0;
  for (const account of panel.accounts) {
    const ids: number[] = [];
    account.rows.forEach((r, k) => {
      const state = { asOf: r.date, health: r.health, signals: r.signals, daysToRenewal: r.daysToRenewal, healthHistory: account.healthHistory, signalHistory: account.signalHistory };
      x.set(trajectoryInputs(panel.signals, state), at * cols);
      slope[at] = healthSlope(account.rows, k);
      ids.push(at++);
    });
    rowOf.push(ids);
  }
  return { inputs: { x, rows: at, cols, names, slope }, rowOf };
}

/** Least-squares slope of the known health points in the 90 (+3) days up to row k. */
function healthSlope(rows: Panel["accounts"][number]["rows"], k: number): number {
  const today = rows[k].day;
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = k; i >= 0 && today - rows[i].day <= SLOPE_WINDOW_DAYS + 3; i--) {
    const h = rows[i].health;
    if (!Number.isFinite(h)) continue;
    const d = rows[i].day - today;
    n++;
    sx += d;
    sy += h;
    sxx += d * d;
    sxy += d * h;
  }
  const den = n * sxx - sx * sx;
  return n >= 2 && den > 0 ? (n * sxy - sx * sy) / den : NaN;
}

/**
 * The pairs of horizon `days`: each row with known health and the same account's row nearest to
 * `days` later (within ±3 days) with known health.
 *
 * @example
 *   const pairs = horizonPairs(panel, rowOf, 30);
 *   pairs.target[0] - inputs.x[pairs.row[0] * inputs.cols]; // the first pair's 30-day change
 */
export function horizonPairs(panel: Panel, rowOf: number[][], days: number): Pairs {
  const row: number[] = [];
  const account: number[] = [];
  const cutoff: number[] = [];
  const targetDay: number[] = [];
  const target: number[] = [];
  panel.accounts.forEach((path, a) => {
    path.rows.forEach((r, k) => {
      if (!Number.isFinite(r.health)) return;
      const j = nearestPoint(path.healthHistory, r.day + days);
      if (j < 0 || !Number.isFinite(path.rows[j].health)) return;
      row.push(rowOf[a][k]);
      account.push(a);
      cutoff.push(r.day);
      targetDay.push(path.rows[j].day);
      target.push(path.rows[j].health);
    });
  });
  return { days, row: Int32Array.from(row), account: Int32Array.from(account), cutoff: Int32Array.from(cutoff), targetDay: Int32Array.from(targetDay), target: Float64Array.from(target) };
}

/** The newest `share` of the distinct cutoffs among `positions` (at least one): its first day. */
function newestFrom(pairs: Pairs, positions: number[], share: number): number {
  const days = [...new Set(positions.map((p) => pairs.cutoff[p]))].sort((a, b) => a - b);
  if (days.length < 2) return Infinity;
  const take = Math.min(days.length - 1, Math.max(1, Math.round(share * days.length)));
  return days[days.length - take];
}

/**
 * Splits a horizon's pairs by cutoff date: the hold-out is the newest `holdout` share of cutoffs
 * (whose horizon is observed, since every pair has its target); the calibration split the newest
 * `calibration` share of the cutoffs whose targets fall on or before the hold-out's first
 * cutoff; training the pairs whose targets fall on or before the calibration's first cutoff.
 * Returns null when the panel spans too few cutoffs for all three.
 *
 * @example
 *   const split = splitPairs(pairs, 0.2, 0.2);
 *   split?.holdout.length; // pairs at the newest 20% of cutoffs
 */
export function splitPairs(pairs: Pairs, holdout: number, calibration: number): PairSplit | null {
  const all = Array.from({ length: pairs.row.length }, (_, p) => p);
  const holdoutFrom = newestFrom(pairs, all, holdout);
  const known = all.filter((p) => pairs.targetDay[p] <= holdoutFrom && pairs.cutoff[p] < holdoutFrom);
  const calibrationFrom = newestFrom(pairs, known, calibration);
  const train = known.filter((p) => pairs.targetDay[p] <= calibrationFrom && pairs.cutoff[p] < calibrationFrom);
  const calib = known.filter((p) => pairs.cutoff[p] >= calibrationFrom);
  const held = all.filter((p) => pairs.cutoff[p] >= holdoutFrom);
  if (!Number.isFinite(holdoutFrom) || !Number.isFinite(calibrationFrom) || train.length === 0 || calib.length === 0 || held.length === 0) return null;
  return { train: Int32Array.from(train), calibration: Int32Array.from(calib), holdout: Int32Array.from(held), final: Int32Array.from(known), holdoutFrom, calibrationFrom };
}

/**
 * Positions of the pairs at the newest cutoffs, whole cutoffs at a time, until adding the next
 * older cutoff would pass `most` pairs (the newest cutoff always).
 *
 * @example
 *   newestPairs(pairs, 12_000).length; // <= 12000, unless the newest cutoff alone has more
 */
export function newestPairs(pairs: Pairs, most: number): Int32Array {
  const byCutoff = new Map<number, number[]>();
  pairs.cutoff.forEach((c, p) => {
    const at = byCutoff.get(c);
    if (at) at.push(p);
    else byCutoff.set(c, [p]);
  });
  const out: number[] = [];
  for (const c of [...byCutoff.keys()].sort((a, b) => b - a)) {
    const at = byCutoff.get(c) as number[];
    if (out.length > 0 && out.length + at.length > most) break;
    out.push(...at);
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/** A day number as YYYY-MM-DD. */
export function dayString(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}
