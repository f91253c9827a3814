/** trainGbdt: the histogram GBDT trainer against brute force, logistic regression and its own options. */
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
