import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
function referenceMargin(model: GbdtModel, x: Float64Array, offset: number): number {
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
function conditional(t: GbdtTree, x: Float64Array, known: number, n = 0): number {
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
function bruteForceShap(model: GbdtModel, x: Float64Array, cols: number): Float64Array {
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

function bitCount(v: number): number {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}

/**
 * A random tree: splits on `cols` features (so features repeat along paths, which TreeSHAP must
 * unwind), float32 thresholds, random default sides and covers, leaves at any depth ≤ maxDepth.
 */
function randomTree(random: () => number, cols: number, maxDepth: number, leafChance: number): GbdtTree {
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
function randomRows(random: () => number, rows: number, cols: number, thresholds: number[], nanShare: number): Float64Array {
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

function irlsLogistic(x: Float64Array, y: ArrayLike<number>, rows: number, cols: number): (x: Float64Array, offset: number) => number {
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


function scoreAll(scorer: GbdtScorer, part: RowSubset, cols: number): Float64Array {
  const z = new Float64Array(part.rows);
  scorer.marginBatch(part.x, part.rows, cols, z);
  return z;
}

function telco(): { spec: FeatureSpec[]; x: Float64Array; y: Uint8Array; rows: number; cols: number } {
  const csv = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
  const records = csvRecords(csv);
  const { features } = inferFeatures(csv, { label: "Churn", id: "customerID" });
  const cols = encodedOwners(features).length;
  const x = new Float64Array(records.length * cols);
  records.forEach((r, i) => encodeRow(features, r, x, i * cols, true));
  return { spec: features, x, y: Uint8Array.from(records, (r) => (r.Churn === "Yes" ? 1 : 0)), rows: records.length, cols };
}

// ---------------------------------------------------------------------------------------------

describe("GbdtScorer: margins and exact TreeSHAP", () => {
  it("scores like a node-by-node walk with float32 compares and default sides, on every path", () => {
    const random = mulberry32(5);
    // Shallow trees take the heap path, a depth-13 ensemble the pointer path.
    for (const maxDepth of [1, 4, 6, 13]) {
      const cols = 7;
      const trees = Array.from({ length: 40 }, () => randomTree(random, cols, maxDepth, 0.25));
      const model: GbdtModel = { baseMargin: -0.7, trees };
      const scorer = new GbdtScorer(encodeGbdt(model));
      const decoded = decodeGbdt(encodeGbdt(model));
      const thresholds = trees.flatMap((t) => [...t.value].filter((_, i) => t.feature[i] >= 0));
      const rows = 500;
      const x = randomRows(random, rows, cols, thresholds, 0.2);
      const batch = new Float64Array(rows);
      scorer.marginBatch(x, rows, cols, batch);
      for (let r = 0; r < rows; r++) {
        const z = scorer.margin(x, r * cols);
        expect(z).toBe(referenceMargin(decoded, x, r * cols));
        expect(Math.abs(z - referenceMargin(model, x, r * cols))).toBeLessThan(1e-12);
        // The batch path adds the same leaves in the same order: bit-identical.
        expect(batch[r]).toBe(z);
      }
    }
  });

  it("sends a value equal to a threshold right, and a double just below a float32 threshold right too", () => {
    const t = Math.fround(0.1);
    const tree: GbdtTree = {
      feature: Int32Array.of(0, -1, -1),
      value: Float32Array.of(t, -1, 1),
      left: Int32Array.of(1, -1, -1),
      right: Int32Array.of(2, -1, -1),
      defaultLeft: Uint8Array.of(1, 0, 0),
      cover: Float64Array.of(2, 1, 1),
    };
    const scorer = new GbdtScorer(encodeGbdt({ baseMargin: 0, trees: [tree] }));
    expect(0.1 < t).toBe(true); // float64 would go left...
    expect(scorer.margin(Float64Array.of(0.1))).toBe(1); // ...XGBoost and we go right
    expect(scorer.margin(Float64Array.of(t))).toBe(1);
    expect(scorer.margin(Float64Array.of(0.09))).toBe(-1);
    expect(scorer.margin(Float64Array.of(NaN))).toBe(-1);
    expect(scorer.baseValue).toBe(0);
  });

  it("gives exactly the Shapley values of the cover-weighted expectation (brute force over all coalitions)", () => {
    const random = mulberry32(11);
    const cols = 6;
    const trees = Array.from({ length: 25 }, () => randomTree(random, cols, 5, 0.2));
    const params = encodeGbdt({ baseMargin: 0.3, trees });
    const model = decodeGbdt(params);
    const scorer = new GbdtScorer(params);
    const owners = Int32Array.from({ length: cols }, (_, j) => j);
    const thresholds = trees.flatMap((t) => [...t.value].filter((_, i) => t.feature[i] >= 0));
    const x = randomRows(random, 60, cols, thresholds, 0.2);
    // Base value = E[f] = the value of the empty coalition.
    expect(scorer.baseValue).toBeCloseTo(0.3 + model.trees.reduce((s, t) => s + conditional(t, x, 0), 0), 12);
    for (let r = 0; r < 60; r++) {
      const row = x.subarray(r * cols, r * cols + cols);
      const phi = new Float64Array(cols);
      scorer.contributions(x, owners, phi, r * cols);
      const expected = bruteForceShap(model, row, cols);
      for (let j = 0; j < cols; j++) expect(Math.abs(phi[j] - expected[j])).toBeLessThan(1e-10);
    }
  });

  it("adds up: base + Σ contributions = margin (1e-6) for every Telco row, with and without NaNs", () => {
    const d = telco();
    const fit = trainGbdt(d.x, d.y, d.rows, d.cols, { rounds: 60, maxDepth: 4, learningRate: 0.1, earlyStoppingRounds: 0 });
    const scorer = new GbdtScorer(fit.params);
    const owners = encodedOwners(d.spec);
    const out = new Float64Array(d.spec.length);
    const holed = Float64Array.from(d.x);
    const random = mulberry32(3);
    for (let i = 0; i < holed.length; i++) if (random() < 0.15) holed[i] = NaN;
    let worst = 0;
    for (const x of [d.x, holed]) {
      for (let r = 0; r < d.rows; r++) {
        out.fill(0);
        scorer.contributions(x, owners, out, r * d.cols);
        const sum = out.reduce((s, v) => s + v, scorer.baseValue);
        worst = Math.max(worst, Math.abs(sum - scorer.margin(x, r * d.cols)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    // The base value is the training rows' mean margin (covers are the training hessians).
    expect(Number.isFinite(scorer.baseValue)).toBe(true);
  });

  it("adds up on random ensembles with NaNs too, grouping columns by owner", () => {
    const random = mulberry32(21);
    const cols = 12;
    const owners = Int32Array.from({ length: cols }, (_, j) => j >> 1);
    const trees = Array.from({ length: 60 }, () => randomTree(random, cols, 7, 0.15));
    const scorer = new GbdtScorer(encodeGbdt({ baseMargin: -1, trees }));
    const thresholds = trees.flatMap((t) => [...t.value].filter((_, i) => t.feature[i] >= 0));
    const x = randomRows(random, 1000, cols, thresholds, 0.25);
    const out = new Float64Array(6);
    for (let r = 0; r < 1000; r++) {
      out.fill(0);
      scorer.contributions(x, owners, out, r * cols);
      expect(Math.abs(out.reduce((s, v) => s + v, scorer.baseValue) - scorer.margin(x, r * cols))).toBeLessThan(1e-6);
    }
  });
});

describe("GbdtParams: serialization", () => {
  it("round-trips through JSON and base64 with identical margins", () => {
    const d = treeFriendlyData(3000, 4);
    for (let i = 0; i < d.x.length; i += 7) d.x[i] = NaN;
    const fit = trainGbdt(d.x, d.y, d.rows, d.cols, { rounds: 60, maxDepth: 5 });
    const text = JSON.stringify(fit.params);
    const back = JSON.parse(text) as GbdtParams;
    expect(back).toEqual(fit.params);
    expect(encodeGbdt(decodeGbdt(back))).toEqual(fit.params);
    const a = new GbdtScorer(fit.params);
    const b = new GbdtScorer(back);
    for (let r = 0; r < d.rows; r++) {
      const z = a.margin(d.x, r * d.cols);
      expect(b.margin(d.x, r * d.cols)).toBe(z);
      expect(Math.abs(z - referenceMargin(fit.model, d.x, r * d.cols))).toBeLessThan(1e-12);
    }
    expect(a.baseValue).toBe(b.baseValue);
  });

  it("fits 300 full trees of depth 6 in 500 KB of base64", () => {
    const random = mulberry32(8);
    const trees = Array.from({ length: 300 }, () => randomTree(random, 40, 6, 0));
    expect(trees[0].feature.length).toBe(127);
    const params = encodeGbdt({ baseMargin: 0, trees });
    expect(params.maxDepth).toBe(6);
    const size = gbdtSizeBytes(params);
    // The documented layout: 4 bytes per tree, 6 per node, 4 per leaf, as base64 (4 chars per 3 bytes).
    const b64 = (bytes: number) => 4 * Math.ceil(bytes / 3);
    expect(size).toBe(b64(300 * 4) + b64(300 * 127 * 2) + b64(300 * 127 * 4) + b64(300 * 64 * 4));
    expect(size).toBeLessThanOrEqual(500_000);
  });

  it("encodes base64 like Buffer does, and refuses malformed text", () => {
    const random = mulberry32(2);
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
      const text = bytesToBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString("base64"));
      expect(base64ToBytes(text)).toEqual(bytes);
    }
    expect(() => base64ToBytes("ab$d")).toThrow(/base64/);
    const params = encodeGbdt({ baseMargin: 0, trees: [randomTree(random, 3, 3, 0)] });
    expect(() => new GbdtScorer({ ...params, nodes: { ...params.nodes, split: params.nodes.split.slice(0, 8) } })).toThrow(/tree ensemble/);
    expect(() => new GbdtScorer({ ...params, trees: 2 })).toThrow(/tree ensemble/);
  });
});

describe("trainGbdt", () => {
  it("beats logistic regression by >= 0.04 AUC on held-out rows where trees should win", () => {
    // Weak interactions on top of linear terms: trees have an edge of about 0.06, not a rout.
    const d = treeFriendlyData(5000, 9, { interaction: 0.4, linear: 1 });
    const split = stratifiedSplit(d.y, { fraction: 0.25, seed: 1 });
    const train = takeRows(d.x, d.y, d.cols, split.train);
    const test = takeRows(d.x, d.y, d.cols, split.holdout);
    const fit = trainGbdt(train.x, train.y, train.rows, d.cols, { rounds: 300, maxDepth: 4, learningRate: 0.05, earlyStoppingRounds: 0 });
    const trees = rocAuc(test.y, scoreAll(new GbdtScorer(fit.params), test, d.cols));
    const linear = irlsLogistic(train.x, train.y, train.rows, d.cols);
    const lin = rocAuc(test.y, Float64Array.from({ length: test.rows }, (_, r) => linear(test.x, r * d.cols)));
    // Measured: GBDT 0.823, logistic 0.768.
    expect(trees).toBeGreaterThanOrEqual(lin + 0.04);
  });

  it("learns where missing values go: the side their labels belong to, per split", () => {
    // Missing `a` means churn (like a cancelled card), missing `b` means staying; present values
    // split the other way round, so neither "missing goes with the majority" nor a fixed side fits.
    const random = mulberry32(17);
    const rows = 4000;
    const x = new Float64Array(rows * 2);
    const y = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const kind = random();
      const a = random();
      const b = random();
      let p: number;
      if (kind < 0.2) {
        x[r * 2] = NaN;
        x[r * 2 + 1] = b;
        p = 0.9;
      } else if (kind < 0.4) {
        x[r * 2] = a;
        x[r * 2 + 1] = NaN;
        p = 0.1;
      } else {
        x[r * 2] = a;
        x[r * 2 + 1] = b;
        p = a < 0.5 ? 0.15 : 0.5;
      }
      y[r] = random() < p ? 1 : 0;
    }
    const fit = trainGbdt(x, y, rows, 2, { rounds: 150, maxDepth: 3, learningRate: 0.1, earlyStoppingRounds: 0 });
    const scorer = new GbdtScorer(fit.params);
    const prob = (a: number, b: number) => 1 / (1 + Math.exp(-scorer.margin(Float64Array.of(a, b))));
    expect(prob(NaN, 0.5)).toBeGreaterThan(0.8);
    expect(prob(0.8, NaN)).toBeLessThan(0.2);
    expect(prob(0.2, 0.5)).toBeLessThan(0.25);
    expect(prob(0.8, 0.5)).toBeGreaterThan(0.35);
    // Splits on `a` send missing values the high-risk way (right, with a >= cut), so both
    // default sides occur across the model.
    const sides = new Set<number>();
    for (const t of fit.model.trees) for (let n = 0; n < t.feature.length; n++) if (t.feature[n] >= 0) sides.add(t.defaultLeft[n]);
    expect(sides).toEqual(new Set([0, 1]));
  });

  it("stops early on the validation rows and keeps the best round", () => {
    const d = treeFriendlyData(1500, 12);
    // Label noise and a high learning rate make the validation loss turn up quickly.
    const random = mulberry32(4);
    for (let r = 0; r < d.rows; r++) if (random() < 0.3) d.y[r] = 1 - d.y[r];
    const split = stratifiedSplit(d.y, { fraction: 0.3, seed: 2 });
    const train = takeRows(d.x, d.y, d.cols, split.train);
    const valid = takeRows(d.x, d.y, d.cols, split.holdout);
    const losses: number[] = [];
    const fit = trainGbdt(train.x, train.y, train.rows, d.cols, {
      rounds: 500,
      maxDepth: 6,
      learningRate: 0.3,
      minChildWeight: 0.1,
      earlyStoppingRounds: 10,
      validation: valid,
      onRound: (_, loss) => losses.push(loss),
    });
    expect(fit.rounds).toBeLessThan(500);
    expect(losses.length).toBe(fit.rounds);
    expect(fit.rounds - 1 - fit.bestIteration).toBe(10);
    expect(fit.params.trees).toBe(fit.bestIteration + 1);
    expect(fit.validationLoss).toBe(Math.min(...losses));
    expect(losses[fit.bestIteration]).toBe(fit.validationLoss);
    // The kept model scores the validation rows at exactly the reported loss.
    const z = scoreAll(new GbdtScorer(fit.params), valid, d.cols);
    let loss = 0;
    for (let r = 0; r < valid.rows; r++) loss += Math.log1p(Math.exp(-Math.abs(z[r]))) + Math.max(z[r], 0) - valid.y[r] * z[r];
    expect(loss / valid.rows).toBeCloseTo(fit.validationLoss as number, 10);
  });

  it("is deterministic for a seed, and honours max leaves, depth and sampling", () => {
    const d = treeFriendlyData(2000, 5);
    const options = { rounds: 30, maxDepth: 5, maxLeaves: 7, subsample: 0.7, colsample: 0.6, seed: 9 };
    const a = trainGbdt(d.x, d.y, d.rows, d.cols, options);
    const b = trainGbdt(d.x, d.y, d.rows, d.cols, options);
    expect(b.params).toEqual(a.params);
    const c = trainGbdt(d.x, d.y, d.rows, d.cols, { ...options, seed: 10 });
    expect(c.params.nodes.value).not.toBe(a.params.nodes.value);
    expect(a.params.maxDepth).toBeLessThanOrEqual(5);
    for (const t of a.model.trees) {
      const leaves = [...t.feature].filter((f) => f < 0).length;
      expect(leaves).toBeLessThanOrEqual(7);
      // Each tree splits on at most round(0.6 · 10) = 6 columns.
      expect(new Set([...t.feature].filter((f) => f >= 0)).size).toBeLessThanOrEqual(6);
    }
    expect(() => trainGbdt(d.x, d.y, d.rows, d.cols, { subsample: 0 })).toThrow(/subsample/);
  });
});
