/**
 * The model-quality options a data scientist reaches for: --red-precision, --time, the cold-start
 * scorecard without a label, intervals checked on the hold-out, and the HTML evaluation report.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCsv, toCsv } from "../../shared/csv";
import { atThreshold } from "../../shared/metrics";
import { scoreInWords } from "../../shared/cs/wording";
import { Scorer } from "../../shared/model/scorer";
import { evaluate } from "../../training/evaluate";
import { train } from "../../training/train";
import { ROOT, runCli } from "./cli-run";

const dir = mkdtempSync(join(tmpdir(), "foresight-options-"));
const saas = join(ROOT, "test/fixtures/saas-accounts.csv");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--red-precision", () => {
  it("picks the lowest red threshold whose validation precision reaches the target, and reports the share it covers", async () => {
    const r = await train({ data: saas, label: "churned", positive: "yes", id: "account_id", out: join(dir, "red"), budget: 1, folds: 3, redPrecision: 0.8 });
    const m = r.artifact.metrics;
    expect(r.artifact.tiers.red).toBeLessThan(1);
    expect(r.artifact.tiers.red).not.toBe(0.7);
    expect(m.redPrecisionOof as number).toBeGreaterThanOrEqual(0.8);
    expect(m.redShareOof as number).toBeGreaterThan(0);
    expect(r.summary!.redOof.precision).toBeGreaterThanOrEqual(0.8);
    // The threshold is the lowest that works: a step lower falls short of the target.
    expect(r.artifact.tiers.yellow).toBeLessThanOrEqual(r.artifact.tiers.red);
  });
});

describe("--time", () => {
  it("holds out the newest rows and never uses the time column as a signal", async () => {
    const csv = parseCsv(readFileSync(saas, "utf8"));
    const dated = join(dir, "dated.csv");
    const day = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 86_400_000 * 0.2).toISOString().slice(0, 10);
    writeFileSync(dated, toCsv([...csv.header, "observed_on"], csv.rows.map((r, i) => [...r, day(i)])));
    const r = await train({ data: dated, label: "churned", positive: "yes", id: "account_id", time: "observed_on", out: join(dir, "time"), budget: 1, folds: 3 });
    expect(r.summary!.split).toContain("newest");
    const cut = Math.round(csv.rows.length * 0.8);
    expect(Math.min(...r.holdoutIndices)).toBeGreaterThanOrEqual(cut - 1);
    expect(r.artifact.features.map((f) => f.name)).not.toContain("observed_on");
    expect(r.artifact.metrics.timeColumn).toBe("observed_on");
  });
});

describe("calibration and intervals", () => {
  it("reports Brier, ECE, a reliability table and the hold-out coverage of the intervals", async () => {
    const r = await train({ data: saas, label: "churned", positive: "yes", id: "account_id", out: join(dir, "cal"), budget: 1, folds: 3 });
    const h = r.summary!.holdout;
    expect(h.brier).toBeGreaterThan(0);
    expect(h.ece).toBeGreaterThanOrEqual(0);
    expect(h.ece).toBeLessThan(0.1);
    expect(h.intervalCoverage).toBeGreaterThanOrEqual(0);
    expect(h.intervalCoverage).toBeLessThanOrEqual(1);
    expect(r.summary!.calibration.table.length).toBeGreaterThan(3);
    expect(["isotonic", "platt"]).toContain(r.artifact.calibration?.method);
    const s = new Scorer(r.artifact).score({ plan: "starter", seats: 3, logins_30d: 1, tickets_90d: 8, nps: 2, is_trial: "yes", region: "EMEA" });
    expect(s.interval[0]).toBeLessThanOrEqual(s.churnProbability);
    expect(s.interval[1]).toBeGreaterThanOrEqual(s.churnProbability);
    // Calibrated probabilities: accounts flagged at ≥ 0.7 out of fold churn at about that rate or more.
    const y = r.holdoutIndices.map((i) => (parseCsv(readFileSync(saas, "utf8")).rows[i][8] === "yes" ? 1 : 0));
    const red = atThreshold(y, r.holdoutProbabilities, 0.7);
    if (red.flagged >= 10) expect(red.precision).toBeGreaterThan(0.55);
  });
});

describe("evaluation report", () => {
  it("writes a self-contained HTML report next to the model with the charts, tiers and confusion matrix", async () => {
    await train({ data: saas, label: "churned", positive: "yes", id: "account_id", out: join(dir, "report"), budget: 1, folds: 3 });
    const e = await evaluate({ model: join(dir, "report"), data: saas });
    const html = readFileSync(e.reportPath!, "utf8");
    expect(e.reportPath).toBe(join(dir, "report", "report.html"));
    for (const text of ["ROC", "Precision-recall", "Calibration", "Cumulative gains", "Feature importance", "Risk tiers", "Confusion matrix", "<svg"]) expect(html).toContain(text);
    expect(html).not.toMatch(/<script|https?:\/\//);
  });
});

describe("cold start", () => {
  it("without a label, the CLI builds a transparent scorecard, says why, and shows its weights", async () => {
    const out = join(dir, "seed");
    const run = await runCli("train", ["--data", join(ROOT, "training/data/seed-sample.csv"), "--id", "Customer_ID", "--out", out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("No ML model was fitted");
    expect(run.stdout).toContain("Support_Tickets_Last_Quarter");
    const artifact = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
    expect(artifact.model.family).toBe("scorecard");
    const scorer = new Scorer(artifact);
    const rows = parseCsv(readFileSync(join(ROOT, "training/data/seed-sample.csv"), "utf8"));
    const ranked = rows.rows
      .map((r) => ({ id: r[0], s: scoreInWords(scorer, Object.fromEntries(rows.header.map((h, j) => [h, r[j]]))) }))
      .sort((a, b) => b.s.churnProbability - a.s.churnProbability);
    expect(ranked.slice(0, 2).map((r) => r.id).sort()).toEqual(["CUST002", "CUST004"]);
    for (const r of ranked.slice(0, 2)) {
      expect(r.s.drivers.length).toBeGreaterThan(0);
      expect(r.s.nextAction?.length).toBeGreaterThan(10);
    }
  });

  it("with fewer than 200 labelled rows, no ML model is fitted either", async () => {
    const csv = parseCsv(readFileSync(saas, "utf8"));
    const small = join(dir, "small.csv");
    writeFileSync(small, toCsv(csv.header, csv.rows.slice(0, 150)));
    const r = await train({ data: small, label: "churned", positive: "yes", id: "account_id", out: join(dir, "small") });
    expect(r.artifact.model.family).toBe("scorecard");
    expect(r.scorecard?.reason).toMatch(/150 labelled rows/);
  });
});
