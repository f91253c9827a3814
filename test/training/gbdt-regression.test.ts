/**
 * The GBDT trainer's regression objectives (squared error, quantile, Poisson) recover known
 * functions on synthetic data, scored by the shared edge scorer; the logistic objective, the
 * default, is byte-for-byte what it was before they existed.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { GbdtParams } from "../../shared/model/artifact";
import { GbdtScorer } from "../../shared/model/gbdt/scorer";
import { trainGbdt } from "../../training/gbdt";
import { mulberry32 } from "../../training/split";
import { treeFriendlyData } from "../../training/synthetic";

interface Regression {
  x: Float64Array;
  y: Float64Array;
  /** The quantity the objective should recover for each row (mean, or rate). */
  truth: Float64Array;
  rows: number;
  cols: number;
}

const COLS = 4;

/** The mean of y given x: a step, a smooth bend and a ramp; the fourth column is noise. */
function f(a: number, b: number, c: number): number {
  return 3 * (a > 0.2 ? 1 : 0) + 2 * Math.sin(3 * b) + c;
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function poissonDraw(random: () => number, mean: number): number {
  // Knuth's method: fine for the small means used here.
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** Rows of uniform x with a target drawn around a truth of the first three columns. */
function regressionData(rows: number, seed: number, truthOf: (a: number, b: number, c: number) => number, draw: (random: () => number, truth: number, c: number) => number): Regression {
  const random = mulberry32(seed);
  const x = new Float64Array(rows * COLS);
  const y = new Float64Array(rows);
  const truth = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < COLS; j++) x[r * COLS + j] = 2 * random() - 1;
    const [a, b, c] = x.subarray(r * COLS, r * COLS + 3);
    truth[r] = truthOf(a, b, c);
    y[r] = draw(random, truth[r], c);
  }
  return { x, y, truth, rows, cols: COLS };
}

/** y = f(x) + noise whose spread grows with the third column (so quantiles depend on x). */
function gaussianData(rows: number, seed: number): Regression {
  return regressionData(rows, seed, f, (random, truth, c) => truth + (0.3 + 0.7 * (c + 1)) * normal(random));
}

/** Counts with rate exp(0.8 (step + bend)/3 + 0.3): between about 0.5 and 4 events. */
function poissonData(rows: number, seed: number): Regression {
  return regressionData(rows, seed, (a, b, c) => Math.exp((0.8 * f(a, b, c)) / 3 + 0.3), (random, truth) => poissonDraw(random, truth));
}

function margins(params: GbdtParams, d: Regression): Float64Array {
  const out = new Float64Array(d.rows);
  new GbdtScorer(params).marginBatch(d.x, d.rows, d.cols, out);
  return out;
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const mae = (a: ArrayLike<number>, b: ArrayLike<number>) => mean(Array.from(a, (v, i) => Math.abs(v - b[i])));

describe("GBDT squared error", () => {
  const train = gaussianData(6000, 1);
  const test = gaussianData(3000, 2);

  it("starts at the mean and recovers the mean function", () => {
    const fit = trainGbdt(train.x, train.y, train.rows, train.cols, { objective: "squared", rounds: 400, learningRate: 0.05, maxDepth: 4, validation: { x: test.x, y: test.y, rows: test.rows } });
    expect(fit.params.baseMargin).toBeCloseTo(mean(train.y), 12);
    const z = margins(fit.params, test);
    const errModel = mae(z, test.truth);
    const errConstant = mae(new Float64Array(test.rows).fill(mean(train.y)), test.truth);
    // The truth spans about ±6; noise has sd 0.3 to 1.7. A good fit is far inside that.
    expect(errModel).toBeLessThan(0.3);
    expect(errModel).toBeLessThan(errConstant / 5);
    // Validation loss is the mean squared error of the kept model on the validation rows.
    expect(fit.validationLoss).toBeCloseTo(mean(Array.from(z, (v, i) => (v - test.y[i]) ** 2)), 4);
  });
});

describe("GBDT quantile (pinball) loss", () => {
  const train = gaussianData(8000, 3);
  const test = gaussianData(4000, 4);

  it.each([0.05, 0.5, 0.95])("covers close to alpha = %s of fresh rows, where the spread varies with x", (alpha) => {
    const fit = trainGbdt(train.x, train.y, train.rows, train.cols, { objective: "quantile", alpha, rounds: 300, learningRate: 0.05, maxDepth: 4 });
    const z = margins(fit.params, test);
    const below = mean(Array.from(z, (v, i) => (test.y[i] <= v ? 1 : 0)));
    expect(Math.abs(below - alpha)).toBeLessThan(0.025);
    // Conditional, not marginal: the coverage holds in the quiet and the noisy half alike.
    for (const noisy of [false, true]) {
      const rows = Array.from({ length: test.rows }, (_, i) => i).filter((i) => test.x[i * COLS + 2] > 0 === noisy);
      const share = mean(rows.map((i) => (test.y[i] <= z[i] ? 1 : 0)));
      expect(Math.abs(share - alpha)).toBeLessThan(0.05);
    }
  });

  it("starts at the alpha-quantile of the labels", () => {
    const fit = trainGbdt(train.x, train.y, train.rows, train.cols, { objective: "quantile", alpha: 0.9, rounds: 1 });
    const sorted = Array.from(train.y).sort((a, b) => a - b);
    const at = 0.9 * (sorted.length - 1);
    expect(fit.params.baseMargin).toBeCloseTo(sorted[Math.floor(at)] + (at % 1) * (sorted[Math.ceil(at)] - sorted[Math.floor(at)]), 12);
  });

  it("leaves hold residual quantiles: one shallow round moves each leaf's rows to their own quantile", () => {
    // One split on x > 0, y = 0 or 10: the leaf at x > 0 must land on its 0.5-quantile (10), not a step towards it.
    const rows = 200;
    const x = Float64Array.from({ length: rows }, (_, i) => (i < rows / 2 ? -1 : 1));
    const y = Float64Array.from({ length: rows }, (_, i) => (i < rows / 2 ? 0 : 10));
    const fit = trainGbdt(x, y, rows, 1, { objective: "quantile", alpha: 0.5, rounds: 1, maxDepth: 1, learningRate: 1, subsample: 1, colsample: 1 });
    const scorer = new GbdtScorer(fit.params);
    expect(scorer.margin(Float64Array.of(1))).toBeCloseTo(10, 5);
    expect(scorer.margin(Float64Array.of(-1))).toBeCloseTo(0, 5);
  });
});

describe("GBDT Poisson loss", () => {
  const train = poissonData(8000, 5);
  const test = poissonData(4000, 6);

  it("starts at the log mean and recovers the rate (predict exp(margin))", () => {
    const fit = trainGbdt(train.x, train.y, train.rows, train.cols, { objective: "poisson", rounds: 400, learningRate: 0.05, maxDepth: 3, validation: { x: test.x, y: test.y, rows: test.rows } });
    expect(fit.params.baseMargin).toBeCloseTo(Math.log(mean(train.y)), 12);
    const rate = Array.from(margins(fit.params, test), Math.exp);
    // Counts are noisy (sd = √rate ≈ 1.4); the rate itself is recovered to a fraction of that.
    expect(mae(rate, test.truth) / mean(test.truth)).toBeLessThan(0.12);
    expect(mae(rate, test.truth)).toBeLessThan(mae(new Float64Array(test.rows).fill(mean(train.y)), test.truth) / 3);
    expect(Math.abs(mean(rate) / mean(test.y) - 1)).toBeLessThan(0.03);
  });
});

describe("GBDT logistic objective", () => {
  /** sha256 of the params JSON, with the trainer's loss and kept round. */
  function fingerprint(input: Parameters<typeof trainGbdt>[4] = {}, seed = 1): string {
    const d = treeFriendlyData(4000, seed);
    const x = d.x.slice();
    for (let i = 0; i < x.length; i += 13) x[i] = NaN;
    const v = treeFriendlyData(800, seed + 10);
    const fit = trainGbdt(x, d.y, d.rows, d.cols, { ...input, validation: { x: v.x, y: v.y, rows: v.rows } });
    return `${createHash("sha256").update(JSON.stringify(fit.params)).digest("hex").slice(0, 16)} ${fit.trainLoss} ${fit.bestIteration}`;
  }

  it("is the default and is byte-for-byte the trainer before regression objectives existed", () => {
    // Pinned from training/gbdt.ts as of commit 22dbdf6 (logistic loss only).
    const pinned = "f55e242b88591de4 0.29296208326956574 299";
    expect(fingerprint()).toBe(pinned);
    expect(fingerprint({ objective: "logistic" })).toBe(pinned);
  });

  it("refuses labels its objective cannot train on", () => {
    const d = treeFriendlyData(50, 1);
    expect(() => trainGbdt(d.x, Float64Array.from(d.y, (v) => v * 2), d.rows, d.cols)).toThrow(/0 or 1/);
    expect(() => trainGbdt(d.x, Float64Array.from(d.y, (v) => v - 1), d.rows, d.cols, { objective: "poisson" })).toThrow(/>= 0/);
    expect(() => trainGbdt(d.x, new Float64Array(d.rows), d.rows, d.cols, { objective: "poisson" })).toThrow(/all 0/);
    expect(() => trainGbdt(d.x, Float64Array.from(d.y, (v, i) => (i === 3 ? NaN : v)), d.rows, d.cols, { objective: "squared" })).toThrow(/finite/);
    expect(() => trainGbdt(d.x, d.y, d.rows, d.cols, { objective: "quantile", alpha: 1 })).toThrow(/alpha/);
  });
});
