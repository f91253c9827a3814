import { describe, expect, it } from "vitest";
import { brier, logLoss, prAuc, rocAuc } from "../../shared/metrics";
import { tierTable } from "../../training/report";

// Four accounts, scored by hand: churners at 0.9 and 0.3, stayers at 0.8 and 0.1.
const labels = [1, 0, 1, 0];
const scores = [0.9, 0.8, 0.3, 0.1];

describe("hold-out metrics on a hand-computed example", () => {
  it("ROC-AUC is the share of churner/stayer pairs ranked correctly", () => {
    // Pairs: 0.9>0.8, 0.9>0.1, 0.3<0.8, 0.3>0.1 -> 3 of 4.
    expect(rocAuc(labels, scores)).toBeCloseTo(0.75, 12);
  });

  it("ROC-AUC gives tied scores half credit and is undefined with one class", () => {
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.9, 0.1])).toBeCloseTo((1 + 0.5 + 1 + 1) / 4, 12);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it("PR-AUC is average precision over the ranked list", () => {
    // Ranked: 0.9 churner (P=1, R=.5), 0.8 stayer, 0.3 churner (P=2/3, R=1): .5*1 + .5*2/3.
    expect(prAuc(labels, scores)).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it("Brier is the mean squared error of the probabilities", () => {
    expect(brier(labels, scores)).toBeCloseTo((0.01 + 0.64 + 0.49 + 0.01) / 4, 12);
  });

  it("log loss is the mean negative log-likelihood", () => {
    expect(logLoss(labels, scores)).toBeCloseTo(-(Math.log(0.9) + Math.log(0.2) + Math.log(0.3) + Math.log(0.9)) / 4, 12);
  });

  it("the tier table counts accounts, churn rate and recall per red/yellow/green tier", () => {
    const rows = tierTable([1, 1, 0, 1, 0, 0], [0.95, 0.7, 0.72, 0.5, 0.45, 0.1]);
    expect(rows.map((r) => [r.tier, r.range, r.accounts, r.positives])).toEqual([
      ["red", ">= 0.70", 3, 2],
      ["yellow", "0.40-0.69", 2, 1],
      ["green", "< 0.40", 1, 0],
    ]);
    expect(rows[0].precision).toBeCloseTo(2 / 3, 12);
    expect(rows[0].recall).toBeCloseTo(2 / 3, 12);
    expect(rows[2].share).toBeCloseTo(1 / 6, 12);
  });
});
