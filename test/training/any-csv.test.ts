import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCsv } from "../../shared/csv";
import { rocAuc } from "../../shared/metrics";
import { parseArtifact } from "../../shared/model/artifact";
import { Scorer } from "../../shared/model/scorer";
import { sha256Hex } from "../../shared/hash";
import { evaluate } from "../../training/evaluate";
import { mulberry32 } from "../../training/split";
import { type TrainResult, train, writeArtifact } from "../../training/train";

// A B2B SaaS export with nothing in common with Telco: 600 accounts whose cancellations follow
// a known logistic rule, plus an id, a date and a few blank labels.
const dir = mkdtempSync(join(tmpdir(), "foresight-any-"));
const dataFile = join(dir, "saas.csv");
const header = ["acct", "seats", "plan", "nps", "is_trial", "last_login", "cancelled"];
let rows: string[][];
let result: TrainResult;

function syntheticRows(n: number): string[][] {
  const random = mulberry32(2024);
  const plans = ["starter", "team", "enterprise"];
  return Array.from({ length: n }, (_, i) => {
    const seats = 1 + Math.floor(random() * 200);
    const plan = plans[Math.floor(random() * 3)];
    const nps = Math.round(random() * 10);
    const trial = random() < 0.3;
    const z = -0.5 + (trial ? 1.6 : 0) - 0.35 * (nps - 5) - 0.008 * seats + (plan === "enterprise" ? -1 : plan === "starter" ? 0.7 : 0);
    const cancelled = random() < 1 / (1 + Math.exp(-z));
    return [
      `AC-${(10007 * (i + 1)).toString(36).toUpperCase()}`,
      String(seats),
      plan,
      i % 25 === 0 ? "" : String(nps),
      trial ? "true" : "false",
      `2025-0${1 + (i % 9)}-1${i % 10}`,
      i % 100 === 7 ? "" : cancelled ? "yes" : "no",
    ];
  });
}

beforeAll(async () => {
  rows = syntheticRows(600);
  writeFileSync(dataFile, toCsv(header, rows));
  // A small search budget keeps the suite quick; the signal here is strong.
  result = await train({ data: dataFile, label: "cancelled", positive: "yes", arr: "seats", out: join(dir, "model"), budget: 1, folds: 3 });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("training on a CSV with different columns", () => {
  it("infers the signals and leaves out the id and the date", () => {
    expect(result.artifact.features.map((f) => [f.name, f.kind])).toEqual([
      ["seats", "numeric"],
      ["plan", "categorical"],
      ["nps", "numeric"],
      ["is_trial", "boolean"],
    ]);
    const reasons = Object.fromEntries(result.artifact.training.excludedColumns.map((e) => [e.name, e.reason]));
    expect(reasons.acct).toMatch(/identifier/);
    expect(reasons.last_login).toMatch(/date/);
  });

  it("drops and counts rows with a missing label", () => {
    expect(result.summary!.droppedMissingLabel).toBe(6);
    expect(result.artifact.metrics.rows).toBe(594);
    expect(result.artifact.metrics.droppedMissingLabel).toBe(6);
  });

  it("learns the direction of each signal", () => {
    const scorer = new Scorer(result.artifact);
    const base = { seats: 20, plan: "team", nps: 6, is_trial: "false" };
    const p = (change: Record<string, unknown>) => scorer.probability({ ...base, ...change } as never);
    expect(p({ is_trial: "true" })).toBeGreaterThan(p({ is_trial: "false" }));
    expect(p({ nps: 1 })).toBeGreaterThan(p({ nps: 10 }));
    expect(p({ plan: "enterprise" })).toBeLessThan(p({ plan: "starter" }));
    expect(result.summary!.importance.slice(0, 3).map((d) => d.feature)).toContain("nps");
  });

  it("the saved artifact scores every row of the file", () => {
    const scorer = Scorer.fromJSON(readFileSync(join(dir, "model", "model.json"), "utf8"));
    const labelled = rows.filter((r) => r[6] !== "");
    const p = labelled.map((r) => scorer.probability(Object.fromEntries(header.map((h, j) => [h, r[j]]))));
    expect(p.every((v) => v > 0 && v < 1)).toBe(true);
    expect(rocAuc(labelled.map((r) => (r[6] === "yes" ? 1 : 0)), p)).toBeGreaterThan(0.75);
    const risky = scorer.score({ seats: 3, plan: "starter", nps: 1, is_trial: "true" });
    const safe = scorer.score({ seats: 150, plan: "enterprise", nps: 10, is_trial: "false" });
    expect(risky.churnProbability).toBeGreaterThan(0.7);
    expect(risky.riskTier).toBe("red");
    expect(safe.churnProbability).toBeLessThan(0.2);
    expect(safe.riskTier).toBe("green");
  });

  it("evaluate skips and counts rows without a label, using the model's label by default", async () => {
    const e = await evaluate({ model: join(dir, "model"), data: dataFile });
    expect(e.rows).toBe(594);
    expect(e.skippedMissingLabel).toBe(6);
    expect(e.auc).toBeGreaterThan(0.75);
    expect(e.tiers.reduce((n, t) => n + t.accounts, 0)).toBe(594);
  });
});

describe("model.json round trip", () => {
  it("save then parseArtifact gives back the same artifact, with a sha256sum-style checksum", async () => {
    const out = join(dir, "roundtrip");
    const { path, sha256 } = await writeArtifact(out, result.artifact);
    const bytes = readFileSync(path);
    expect(sha256).toBe(await sha256Hex(bytes));
    expect(readFileSync(`${path}.sha256`, "utf8")).toBe(`${sha256}  model.json\n`);
    expect(parseArtifact(JSON.parse(bytes.toString("utf8")))).toEqual(result.artifact);
    expect(bytes.toString("utf8")).toBe(result.json);
  });

  it("parseArtifact refuses a wrong format tag, version or weight count", () => {
    const copy = () => JSON.parse(result.json);
    expect(() => parseArtifact({ ...copy(), format: "tfjs-layers-model" })).toThrow(/not a Foresight model/);
    expect(() => parseArtifact({ ...copy(), formatVersion: 3 })).toThrow(/format version/);
    expect(() => parseArtifact({ ...copy(), model: { family: "logistic", intercept: 0, weights: [1] } })).toThrow(/weights/);
  });

  it("evaluate refuses a model.json that no longer matches its checksum", async () => {
    const out = join(dir, "tampered");
    const { path } = await writeArtifact(out, result.artifact);
    writeFileSync(path, readFileSync(path, "utf8").replace('"createdAt": "', '"createdAt": "1'));
    await expect(evaluate({ model: out, data: dataFile })).rejects.toThrow(/does not match/);
  });
});
