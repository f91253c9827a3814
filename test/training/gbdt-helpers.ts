/** Shared helpers of the GBDT tests: reference scorers, brute-force SHAP, random trees and rows, Telco as a matrix. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type RowSubset, takeRows } from "../../training/dataset";
import { csvRecords, parseCsv } from "../../shared/csv";
import { rocAuc } from "../../shared/metrics";
import type { GbdtParams } from "../../shared/model/artifact";
import { encodedOwners, encodeRow, type FeatureSpec } from "../../shared/model/features";
import { base64ToBytes, bytesToBase64 } from "../../shared/base64";
import { decodeGbdt, encodeGbdt, type GbdtModel, type GbdtTree, gbdtSizeBytes } from "../../shared/model/gbdt/format";
import { GbdtScorer } from "../../shared/model/gbdt/scorer";
import { trainGbdt } from "../../training/gbdt";
import { inferFeatures } from "../../training/infer";
import { mulberry32, stratifiedSplit } from "../../training/split";
import { treeFriendlyData } from "../../training/synthetic";
import { ROOT } from "./cli-run";
// ---------------------------------------------------------------------------------------------
// Helpers: an independent, obviously-correct reference for margins and Shapley values.

/** Margin by walking each tree node by node with XGBoost's rule (float32 compare, NaN default). */
export function referenceMargin(model: GbdtModel, x: Float64Array, offset: number): number {
  let sum = model.baseMargin;
  for (const t of model.trees) {
    let n = 0;
    while (t.feature[n] >= 0) {
      const v = x[offset + t.feature[n]];
      const left = Number.isNaN(v) ? t.defaultLeft[n] === 1 : Math.fround(v) < t.value[n];
      n = left ? t.left[n] : t.right[n];
    }
    sum += t.value[n];
  }
  return sum;
}

/** E[tree(x) | features in `known` fixed], unknown splits averaged by cover (path-dependent). */
export function conditional(t: GbdtTree, x: Float64Array, known: number, n = 0): number {
  const f = t.feature[n];
  if (f < 0) return t.value[n];
  const l = t.left[n];
  const r = t.right[n];
  if (known & (1 << f)) {
    const v = x[f];
    const left = Number.isNaN(v) ? t.defaultLeft[n] === 1 : Math.fround(v) < t.value[n];
    return conditional(t, x, known, left ? l : r);
  }
  return (t.cover[l] * conditional(t, x, known, l) + t.cover[r] * conditional(t, x, known, r)) / t.cover[n];
}

/** Shapley values by enumerating every coalition (2^cols of them): the definition itself. */
export function bruteForceShap(model: GbdtModel, x: Float64Array, cols: number): Float64Array {
  const phi = new Float64Array(cols);
  const fact = [1];
  for (let i = 1; i <= cols; i++) fact[i] = fact[i - 1] * i;
  const value = (mask: number) => model.trees.reduce((s, t) => s + conditional(t, x, mask), 0);
  for (let mask = 0; mask < 1 << cols; mask++) {
    const size = bitCount(mask);
    const v = value(mask);
    for (let j = 0; j < cols; j++) {
      if (mask & (1 << j)) continue;
      const weight = (fact[size] * fact[cols - size - 1]) / fact[cols];
      phi[j] += weight * (value(mask | (1 << j)) - v);
    }
  }
  return phi;
}

export function bitCount(v: number): number {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}

/**
 * A random tree: splits on `cols` features (so features repeat along paths, which TreeSHAP must
 * unwind), float32 thresholds, random default sides and covers, leaves at any depth ≤ maxDepth.
 */
export function randomTree(random: () => number, cols: number, maxDepth: number, leafChance: number): GbdtTree {
  const nodes: { f: number; v: number; l: number; r: number; dl: number; c: number }[] = [];
  const grow = (depth: number): number => {
    const id = nodes.length;
    nodes.push({ f: -1, v: 0, l: -1, r: -1, dl: 0, c: 0 });
    if (depth === maxDepth || (depth > 0 && random() < leafChance)) {
      nodes[id].v = Math.fround(random() - 0.5);
      nodes[id].c = Math.fround(0.05 + random() * 20);
      return id;
    }
    nodes[id].f = Math.floor(random() * cols);
    nodes[id].v = Math.fround(random() * 2 - 1);
    nodes[id].dl = random() < 0.5 ? 1 : 0;
    nodes[id].l = grow(depth + 1);
    nodes[id].r = grow(depth + 1);
    nodes[id].c = nodes[nodes[id].l].c + nodes[nodes[id].r].c;
    return id;
  };
  grow(0);
  return {
    feature: Int32Array.from(nodes, (n) => n.f),
    value: Float32Array.from(nodes, (n) => n.v),
    left: Int32Array.from(nodes, (n) => n.l),
    right: Int32Array.from(nodes, (n) => n.r),
    defaultLeft: Uint8Array.from(nodes, (n) => n.dl),
    cover: Float64Array.from(nodes, (n) => n.c),
  };
}

/** Rows in [−1, 1] with NaNs, and values that sit exactly on (or round in float32 onto) thresholds. */
export function randomRows(random: () => number, rows: number, cols: number, thresholds: number[], nanShare: number): Float64Array {
  const x = new Float64Array(rows * cols);
  for (let i = 0; i < x.length; i++) {
    const u = random();
    if (u < nanShare) x[i] = NaN;
    else if (u < nanShare + 0.1) x[i] = thresholds[Math.floor(random() * thresholds.length)];
    // A double just below a float32 threshold that still rounds to it: float64 compare says
    // left, XGBoost's float32 compare says right.
    else if (u < nanShare + 0.2) {
      const t = thresholds[Math.floor(random() * thresholds.length)];
      x[i] = t - Math.abs(t) * 2 ** -30;
    } else x[i] = random() * 2 - 1;
  }
  return x;
}

export function irlsLogistic(x: Float64Array, y: ArrayLike<number>, rows: number, cols: number): (x: Float64Array, offset: number) => number {
  // Newton's method on the log likelihood (a tiny ridge keeps the Hessian invertible).
  const k = cols + 1;
  const w = new Float64Array(k);
  for (let iter = 0; iter < 25; iter++) {
    const g = new Float64Array(k);
    const h = new Float64Array(k * k);
    for (let r = 0; r < rows; r++) {
      const row = [1, ...x.subarray(r * cols, r * cols + cols)];
      const z = row.reduce((s, v, j) => s + v * w[j], 0);
      const p = 1 / (1 + Math.exp(-z));
      for (let a = 0; a < k; a++) {
        g[a] += (p - y[r]) * row[a];
        for (let b = 0; b < k; b++) h[a * k + b] += p * (1 - p) * row[a] * row[b];
      }
    }
    for (let a = 0; a < k; a++) h[a * k + a] += 1e-6;
    // Solve h · step = g by Gaussian elimination.
    const m = Array.from({ length: k }, (_, a) => [...h.subarray(a * k, a * k + k), g[a]]);
    for (let c = 0; c < k; c++) {
      let p = c;
      for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
      [m[c], m[p]] = [m[p], m[c]];
      for (let r = 0; r < k; r++) {
        if (r === c) continue;
        const f = m[r][c] / m[c][c];
        for (let j = c; j <= k; j++) m[r][j] -= f * m[c][j];
      }
    }
    for (let a = 0; a < k; a++) w[a] -= m[a][k] / m[a][a];
  }
  return (xs, offset) => {
    let z = w[0];
    for (let j = 0; j < cols; j++) z += w[j + 1] * xs[offset + j];
    return z;
  };
}


export function scoreAll(scorer: GbdtScorer, part: RowSubset, cols: number): Float64Array {
  const z = new Float64Array(part.rows);
  scorer.marginBatch(part.x, part.rows, cols, z);
  return z;
}

export function telco(): { spec: FeatureSpec[]; x: Float64Array; y: Uint8Array; rows: number; cols: number } {
  const csv = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
  const records = csvRecords(csv);
  const { features } = inferFeatures(csv, { label: "Churn", id: "customerID" });
  const cols = encodedOwners(features).length;
  const x = new Float64Array(records.length * cols);
  records.forEach((r, i) => encodeRow(features, r, x, i * cols, true));
  return { spec: features, x, y: Uint8Array.from(records, (r) => (r.Churn === "Yes" ? 1 : 0)), rows: records.length, cols };
}

// ---------------------------------------------------------------------------------------------
