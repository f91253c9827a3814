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
import { referenceMargin, conditional, bruteForceShap, bitCount, randomTree, randomRows, irlsLogistic, scoreAll, telco } from "./gbdt-helpers";

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
