import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type GbdtParams, type ModelArtifact, parseArtifact } from "../../shared/model/artifact";
import { encodedOwners, encodeRow, type RawValue } from "../../shared/model/features";
import { GbdtScorer } from "../../shared/model/gbdt/scorer";
import { sigmoid } from "../../shared/model/sigmoid";
import { importXgboost, readXgboostJson } from "../../training/xgboost";
import { ROOT } from "./cli-run";

// Made once by test/fixtures/xgboost/make-fixture.py with Debian's XGBoost 1.7.4; no Python here.
const FIXTURE = join(ROOT, "test/fixtures/xgboost");
const modelText = readFileSync(join(FIXTURE, "xgb.json"), "utf8");
const expected = JSON.parse(readFileSync(join(FIXTURE, "expected.json"), "utf8")) as {
  xgboostVersion: string;
  featureNames: string[];
  rows: (number | null)[][];
  margin: number[];
  probability: number[];
  contributions: number[][];
};
const dir = mkdtempSync(join(tmpdir(), "foresight-xgb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Checks an imported artifact against XGBoost's own predictions for every fixture row. */
function checkAgainstXgboost(artifact: ModelArtifact): { probability: number; contribution: number } {
  expect(artifact.model.family).toBe("gbdt");
  const scorer = new GbdtScorer(artifact.model as GbdtParams);
  const width = expected.featureNames.length;
  const owners = encodedOwners(artifact.features);
  expect(owners.length).toBe(width);
  const x = new Float64Array(width);
  const fromSpec = new Float64Array(width);
  const phi = new Float64Array(width);
  let worstP = 0;
  let worstC = 0;
  expected.rows.forEach((row, i) => {
    row.forEach((v, j) => {
      x[j] = v === null ? NaN : v;
    });
    // The artifact's feature spec encodes raw signals (null = missing) into the same vector.
    const record: Record<string, RawValue> = Object.fromEntries(expected.featureNames.map((name, j) => [name, row[j]]));
    encodeRow(artifact.features, record, fromSpec, 0, true);
    expect(Array.from(fromSpec)).toEqual(Array.from(x));

    const margin = scorer.margin(x);
    expect(Math.abs(margin - expected.margin[i])).toBeLessThan(1e-5);
    worstP = Math.max(worstP, Math.abs(sigmoid(margin) - expected.probability[i]));
    phi.fill(0);
    scorer.contributions(x, owners, phi);
    for (let j = 0; j < width; j++) worstC = Math.max(worstC, Math.abs(phi[j] - expected.contributions[i][j]));
    // XGBoost's last column is the bias: our base value.
    worstC = Math.max(worstC, Math.abs(scorer.baseValue - expected.contributions[i][width]));
  });
  return { probability: worstP, contribution: worstC };
}

describe("XGBoost import", () => {
  it("the fixture exercises missing values and both default directions", () => {
    expect(expected.rows.length).toBe(200);
    expect(expected.rows.some((r) => r.includes(null))).toBe(true);
    const { model } = readXgboostJson(JSON.parse(modelText));
    const sides = new Set<number>();
    for (const t of model.trees) for (let n = 0; n < t.feature.length; n++) if (t.feature[n] >= 0) sides.add(t.defaultLeft[n]);
    expect(sides).toEqual(new Set([0, 1]));
    expect(model.trees.length).toBe(50);
    // base_score 0.3 is a probability: the margin starts at its log-odds.
    expect(model.baseMargin).toBeCloseTo(Math.log(0.3 / 0.7), 6);
  });

  it("matches XGBoost's probabilities (1e-6) and pred_contribs (1e-5) via the library", async () => {
    const artifact = await importXgboost(JSON.parse(modelText), { sourceFile: "xgb.json", sourceBytes: modelText, now: new Date("2026-11-22T14:00:00Z") });
    expect(parseArtifact(JSON.parse(JSON.stringify(artifact)))).toEqual(artifact);
    expect(artifact.features.map((f) => f.name)).toEqual(expected.featureNames);
    expect(artifact.features.every((f) => f.kind === "numeric" && f.mean === 0 && f.std === 1 && f.fill === 0 && !f.log)).toBe(true);
    expect(artifact.baseline).toEqual(expected.featureNames.map(() => 0));
    expect(artifact.version).toMatch(/^churn-xgb-20261122-140000-[0-9a-f]{6}$/);
    expect(artifact.metrics.xgboostVersion).toBe(expected.xgboostVersion);
    const worst = checkAgainstXgboost(artifact);
    expect(worst.probability).toBeLessThanOrEqual(1e-6);
    expect(worst.contribution).toBeLessThanOrEqual(1e-5);
  });

  it("matches XGBoost via `npm run import-xgboost`, writing model.json and its checksum", () => {
    const out = join(dir, "cli");
    const run = spawnSync("npm", ["run", "--silent", "import-xgboost", "--", "--model", join(FIXTURE, "xgb.json"), "--out", out], { cwd: ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Imported .*50 trees/);
    const json = readFileSync(join(out, "model.json"), "utf8");
    const sha = createHash("sha256").update(json).digest("hex");
    expect(readFileSync(join(out, "model.json.sha256"), "utf8")).toBe(`${sha}  model.json\n`);
    const artifact = parseArtifact(JSON.parse(json));
    const worst = checkAgainstXgboost(artifact);
    expect(worst.probability).toBeLessThanOrEqual(1e-6);
    expect(worst.contribution).toBeLessThanOrEqual(1e-5);
  });

  it("refuses models it cannot reproduce, naming --model", () => {
    const doc = JSON.parse(modelText);
    doc.learner.objective.name = "multi:softprob";
    const bad = join(dir, "softprob.json");
    writeFileSync(bad, JSON.stringify(doc));
    const run = spawnSync("npm", ["run", "--silent", "import-xgboost", "--", "--model", bad, "--out", join(dir, "bad")], { cwd: ROOT, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--model: .*multi:softprob.*binary:logistic/);
    expect(() => readXgboostJson({ learner: { ...JSON.parse(modelText).learner, gradient_booster: { name: "dart" } } })).toThrow(/gbtree/);
    const missing = spawnSync("npm", ["run", "--silent", "import-xgboost", "--", "--model", join(FIXTURE, "xgb.json")], { cwd: ROOT, encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--out/);
  });
});
