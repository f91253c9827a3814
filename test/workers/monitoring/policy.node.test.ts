/**
 * The monitoring maths in shared/: PSI, Spearman, the reference bins, the labelling rule, the
 * accuracy figures and the shadow comparison, each against values worked out independently.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { csvRecords, parseCsv } from "../../../shared/csv";
import { atThreshold, averageRanks, psi, rocAuc, spearman } from "../../../shared/metrics";
import { parseArtifact } from "../../../shared/model/artifact";
import type { FeatureSpec } from "../../../shared/model/features";
import { binOf, bucketOf, buildReference, DriftCounter, featureReference, predictionReference, quantileEdges } from "../../../shared/model/reference";
import { alertsFor, compareModels, evaluateScores, hasChurned, outcomeLabel, retrainingRecommendation } from "../../../workers/monitoring/policy";
import { mulberry32 } from "../../../training/split";
import { train } from "../../../training/train";

const ROOT = join(import.meta.dirname, "../../..");

/** ROC-AUC the slow way: the share of (churner, stayer) pairs ranked correctly, ties half. */
function pairAuc(y: number[], p: number[]): number {
  let good = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++)
    for (let j = 0; j < y.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        pairs++;
        good += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
      }
  return good / pairs;
}

describe("psi", () => {
  it("is zero for identical distributions and matches the formula by hand", () => {
    expect(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
    // (0.4 − 0.5)·ln(0.4/0.5) + (0.6 − 0.5)·ln(0.6/0.5)
    expect(psi([0.5, 0.5], [0.4, 0.6])).toBeCloseTo(-0.1 * Math.log(0.8) + 0.1 * Math.log(1.2), 12);
    // Counts are normalised first.
    expect(psi([50, 50], [40, 60])).toBeCloseTo(psi([0.5, 0.5], [0.4, 0.6]), 12);
  });

  it("floors empty bins at 1e-4 instead of dividing by zero, and is NaN for mismatched bins", () => {
    expect(psi([1, 0], [0.5, 0.5])).toBeCloseTo((0.5 - 1) * Math.log(0.5 / 1) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 12);
    expect(psi([0.5, 0.5], [1])).toBeNaN();
    expect(psi([0, 0], [0.5, 0.5])).toBeNaN();
  });
});

describe("spearman and ranks", () => {
  it("gives ties their average rank and is ±1 for monotone relations", () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(spearman([1, 2, 3, 4], [10, 20, 35, 1000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1], [1, 2])).toBeNaN();
  });

  it("equals 1 − 6Σd²/(n(n²−1)) without ties", () => {
    const a = [3, 1, 4, 1.5, 5, 9, 2.6];
    const b = [2, 7, 1, 8, 2.8, 1.8, 2.9];
    const ra = averageRanks(a);
    const rb = averageRanks(b);
    const d2 = a.reduce((s, _, i) => s + (ra[i] - rb[i]) ** 2, 0);
    expect(spearman(a, b)).toBeCloseTo(1 - (6 * d2) / (7 * (49 - 1)), 12);
  });
});

describe("rocAuc against brute-force pair counting", () => {
  it("agrees on random scores with ties", () => {
    const rand = mulberry32(7);
    const y = Array.from({ length: 300 }, () => (rand() < 0.3 ? 1 : 0));
    const p = y.map((v) => Math.round((rand() * 0.6 + v * 0.3) * 20) / 20);
    expect(rocAuc(y, p)).toBeCloseTo(pairAuc(y, p), 12);
  });
});

describe("reference bins", () => {
  it("cuts numbers at deciles above the minimum, and bins a value by how many edges are at or below it", () => {
    expect(quantileEdges(Array.from({ length: 100 }, (_, i) => i))).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    // A 0/1 count has one cut, at 1.
    expect(quantileEdges([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])).toEqual([1]);
    expect([binOf([10, 20], 5), binOf([10, 20], 10), binOf([10, 20], 19.9), binOf([10, 20], 20), binOf([10, 20], 1e9)]).toEqual([0, 1, 1, 2, 2]);
  });

  it("reads CSV cells and JSON signals into the same bins, with missing and other slots", () => {
    const tenure: FeatureSpec = { name: "tenure", kind: "numeric", mean: 0, std: 1, fill: 0 };
    const trial: FeatureSpec = { name: "is_trial", kind: "boolean", trueValues: ["yes"], falseValues: ["no"], fill: 0 };
    const plan: FeatureSpec = { name: "plan", kind: "categorical", levels: ["team", "NA"] };
    const ref = featureReference(tenure, ["1", "2", "3", "4", "", "NA"]);
    expect(ref).toMatchObject({ kind: "numeric", missing: 0.33333 });
    expect(bucketOf(tenure, ref, "3")).toBe(bucketOf(tenure, ref, 3));
    expect(bucketOf(tenure, ref, null)).toBe(ref.kind === "numeric" ? ref.shares.length : -1);
    const trialRef = featureReference(trial, ["yes", "no", "no", "maybe", ""]);
    expect(trialRef).toEqual({ kind: "levels", levels: ["yes", "no"], shares: [0.2, 0.4], other: 0.2, missing: 0.2 });
    expect([bucketOf(trial, trialRef, true), bucketOf(trial, trialRef, "No"), bucketOf(trial, trialRef, 1), bucketOf(trial, trialRef, null)]).toEqual([0, 1, 0, 3]);
    // A level spelled "NA" is a level, not missing; an unseen level is "other".
    const planRef = featureReference(plan, ["team", "NA", "solo", ""]);
    expect(planRef).toEqual({ kind: "levels", levels: ["team", "NA"], shares: [0.25, 0.25], other: 0.25, missing: 0.25 });
  });

  it("drift against the model's own training rows is zero, and a shifted signal reads as drift", () => {
    const rand = mulberry32(3);
    const spec: FeatureSpec[] = [
      { name: "logins", kind: "numeric", mean: 0, std: 1, fill: 0 },
      { name: "plan", kind: "categorical", levels: ["a", "b", "c"] },
    ];
    const rows = Array.from({ length: 2000 }, () => ({ logins: String(Math.floor(rand() * 30)), plan: ["a", "b", "c"][Math.floor(rand() * 3)] }));
    const p = rows.map(() => rand());
    const reference = buildReference(spec, rows, p);
    expect(reference.rows).toBe(2000);
    expect(reference.prediction.shares).toHaveLength(10);
    const same = new DriftCounter(spec, reference);
    rows.forEach((r, i) => same.add(r, p[i]));
    const r0 = same.result();
    expect(r0.features.logins.psi).toBeLessThan(1e-6);
    expect(r0.features.plan.psi).toBeLessThan(1e-6);
    expect(r0.prediction.psi).toBeLessThan(1e-6);
    const shifted = new DriftCounter(spec, reference);
    rows.forEach((r, i) => shifted.add({ logins: Number(r.logins) + 15, plan: r.plan }, p[i] / 2));
    const r1 = shifted.result();
    expect(r1.features.logins.psi).toBeGreaterThan(0.2);
    expect(r1.features.plan.psi).toBeLessThan(1e-6);
    expect(r1.prediction.psi).toBeGreaterThan(0.2);
    // The reported PSI is the formula over the reported distributions.
    expect(r1.features.logins.psi).toBeCloseTo(psi(r1.features.logins.expected, r1.features.logins.actual), 12);
  });

  it("puts probabilities in deciles", () => {
    const ref = predictionReference(Array.from({ length: 1000 }, (_, i) => i / 1000));
    expect(ref.edges).toHaveLength(9);
    expect(ref.shares.every((s) => Math.abs(s - 0.1) < 1e-9)).toBe(true);
  });
});

describe("the labelling rule", () => {
  const now = new Date("2026-06-30T12:00:00Z");
  it("labels 1 for a churn within (score day, score day + horizon], 0 after a quiet horizon, pending before it passes", () => {
    expect(outcomeLabel("2026-01-10T02:00:00.000Z", 90, [{ type: "churned", date: "2026-04-10" }], now)).toBe(1); // day 90
    expect(outcomeLabel("2026-01-10T02:00:00.000Z", 90, [{ type: "churned", date: "2026-04-11" }], now)).toBe(0); // day 91
    expect(outcomeLabel("2026-01-10T02:00:00.000Z", 90, [{ type: "renewed", date: "2026-02-01" }], now)).toBe(0);
    expect(outcomeLabel("2026-04-10T02:00:00.000Z", 90, [{ type: "churned", date: "2026-05-01" }], now)).toBe("pending");
  });

  it("leaves out accounts already churned when scored, unless they came back", () => {
    expect(outcomeLabel("2026-01-10T02:00:00.000Z", 90, [{ type: "churned", date: "2026-01-10" }], now)).toBe("gone");
    expect(outcomeLabel("2026-01-10T02:00:00.000Z", 90, [{ type: "churned", date: "2025-06-01" }, { type: "renewed", date: "2025-09-01" }], now)).toBe(0);
    expect(hasChurned([{ type: "churned", date: "2026-01-10" }], "2026-06-30")).toBe(true);
    expect(hasChurned([{ type: "churned", date: "2026-07-10" }], "2026-06-30")).toBe(false);
  });
});

describe("accuracy figures", () => {
  it("match independent computations, with the red threshold's precision, recall and F1", () => {
    const rand = mulberry32(11);
    const y = Array.from({ length: 400 }, () => (rand() < 0.25 ? 1 : 0));
    const p = y.map((v) => Math.min(0.99, Math.max(0.01, rand() * 0.7 + v * 0.25)));
    const a = evaluateScores(p, y, 0.6);
    const red = p.map((v, i) => [v, y[i]]).filter(([v]) => v >= 0.6);
    const tp = red.filter(([, l]) => l === 1).length;
    const positives = y.filter((v) => v === 1).length;
    expect(a.scoresEvaluated).toBe(400);
    expect(a.positives).toBe(positives);
    expect(a.auc).toBeCloseTo(pairAuc(y, p), 6);
    expect(a.precisionAtRed).toBeCloseTo(tp / red.length, 6);
    expect(a.recallAtRed).toBeCloseTo(tp / positives, 6);
    expect(a.f1AtRed).toBeCloseTo((2 * (tp / red.length) * (tp / positives)) / (tp / red.length + tp / positives), 6);
    expect(a.brier).toBeCloseTo(p.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / 400, 6);
    expect(a.calibration!.reduce((s, b) => s + b.n, 0)).toBe(400);
    expect(a.notes).toEqual([]);
    expect(atThreshold(y, p, 0.6).f1).toBeCloseTo(a.f1AtRed!, 6);
  });

  it("are null, with the reason, below 50 scores or with no churner", () => {
    const few = evaluateScores([0.9, 0.1], [1, 0], 0.7);
    expect(few).toMatchObject({ scoresEvaluated: 2, auc: null, precisionAtRed: null, brier: null, calibration: null });
    expect(few.notes[0]).toMatch(/Only 2 evaluable/);
    const none = evaluateScores(new Array(80).fill(0.8), new Array(80).fill(0), 0.7);
    expect(none).toMatchObject({ scoresEvaluated: 80, positives: 0, auc: null, precisionAtRed: null });
    expect(none.notes[0]).toMatch(/None of the 80/);
    expect(alertsFor({ precisionAtRed: none.precisionAtRed, maxFeaturePsi: null, predictionPsi: null })).toEqual([]);
  });

  it("alert below 0.70 precision at red and above 0.2 PSI", () => {
    expect(alertsFor({ precisionAtRed: 0.69, maxFeaturePsi: 0.05, predictionPsi: 0.21 })).toEqual(["model.performance_degraded", "model.drift_detected"]);
    expect(alertsFor({ precisionAtRed: 0.7, maxFeaturePsi: 0.2, predictionPsi: 0.2 })).toEqual([]);
  });

  it("recommend an export as of the newest day whose horizon has passed, and training with --exclude expanded", () => {
    const r = retrainingRecommendation("why", 90, new Date("2026-06-30T03:17:00Z"));
    expect(r.asOf).toBe("2026-04-01");
    expect(r.commands[0]).toBe("npm run export-training -- --as-of 2026-04-01 --horizon 90 --out churn-2026-04-01.csv");
    expect(r.commands[1]).toContain("npm run train -- --data churn-2026-04-01.csv --label churned --positive yes --id account_id --exclude expanded --horizon 90");
  });
});

describe("shadow comparison", () => {
  it("reports deltas, the tier matrix under the shadow's thresholds, Spearman, movers and both AUCs", () => {
    const rows = [
      { accountId: "A", name: null, activeProbability: 0.8, activeTier: "red" as const, shadowProbability: 0.9, label: 1 as const },
      { accountId: "B", name: "Bee", activeProbability: 0.5, activeTier: "yellow" as const, shadowProbability: 0.75, label: 0 as const },
      { accountId: "C", name: null, activeProbability: 0.1, activeTier: "green" as const, shadowProbability: 0.05, label: 0 as const },
      { accountId: "D", name: null, activeProbability: 0.3, activeTier: "green" as const, shadowProbability: 0.2, label: null },
    ];
    const c = compareModels(rows, { red: 0.7, yellow: 0.4 }, 2);
    expect(c.accounts).toBe(4);
    expect(c.meanAbsDelta).toBeCloseTo((0.1 + 0.25 + 0.05 + 0.1) / 4, 6);
    expect(c.meanDelta).toBeCloseTo((0.1 + 0.25 - 0.05 - 0.1) / 4, 6);
    expect(c.tierAgreement.matrix.yellow).toEqual({ red: 1, yellow: 0, green: 0 });
    expect(c.tierAgreement.matrix.green).toEqual({ red: 0, yellow: 0, green: 2 });
    expect(c.tierAgreement.share).toBe(0.75);
    expect(c.spearman).toBeCloseTo(spearman([0.8, 0.5, 0.1, 0.3], [0.9, 0.75, 0.05, 0.2]), 9);
    expect(c.biggestMovers.map((m) => [m.accountId, m.shadow.riskTier])).toEqual([["B", "red"], ["A", "red"]]);
    expect(c.outcomes).toMatchObject({ known: 3, positives: 1, activeAuc: 1, shadowAuc: 1 });
  });
});

describe("reference distributions in model.json", () => {
  it("are the training rows' distributions: the SaaS fixture's match its CSV, and its horizon is 90 days", () => {
    const artifact = parseArtifact(JSON.parse(readFileSync(join(ROOT, "test/fixtures/saas-model/model.json"), "utf8")));
    const rows = csvRecords(parseCsv(readFileSync(join(ROOT, "test/fixtures/saas-accounts.csv"), "utf8")));
    expect(artifact.horizonDays).toBe(90);
    expect(artifact.reference!.rows).toBe(rows.length);
    for (const f of artifact.features) expect(artifact.reference!.features[f.name], f.name).toEqual(featureReference(f, rows.map((r) => r[f.name])));
    // The out-of-fold probabilities of the 80% training split, in deciles.
    expect(artifact.reference!.prediction.rows).toBe(1200);
    expect(artifact.reference!.prediction.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it("are optional: an artifact from before monitoring still loads; a malformed one is refused", () => {
    const artifact = JSON.parse(readFileSync(join(ROOT, "test/fixtures/saas-model/model.json"), "utf8"));
    const { reference, horizonDays, ...old } = artifact;
    expect(reference && horizonDays).toBeTruthy();
    expect(parseArtifact(old).reference).toBeUndefined();
    expect(() => parseArtifact({ ...artifact, reference: { ...reference, prediction: { rows: 1, edges: [0.5, 0.4], shares: [0.3, 0.3, 0.4] } } })).toThrow(/edges must ascend/);
    expect(() => parseArtifact({ ...artifact, horizonDays: 0 })).toThrow(/horizonDays/);
  });

  it("are written for cold-start scorecards too, with --horizon recorded, and a bad --horizon is refused by name", async () => {
    const { artifact } = await train({ data: join(ROOT, "training/data/seed-sample.csv"), id: "Customer_ID", horizon: 60 });
    expect(artifact.model.family).toBe("scorecard");
    expect(artifact.horizonDays).toBe(60);
    expect(Object.keys(artifact.reference!.features).sort()).toEqual(artifact.features.map((f) => f.name).sort());
    expect(artifact.reference!.prediction.rows).toBe(5);
    await expect(train({ data: join(ROOT, "training/data/seed-sample.csv"), horizon: 0 })).rejects.toMatchObject({ flag: "--horizon" });
  });
});
