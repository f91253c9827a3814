import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv, toCsv } from "../../shared/csv";
import { Scorer } from "../../shared/model/scorer";
import { sha256Hex } from "../../shared/hash";
import { encodeMatrix, readCsvFile } from "../../training/dataset";
import type { MlpParams } from "../../shared/model/artifact";
import { predictProbabilities } from "../../training/logistic";
import { predictMlpMargins } from "../../training/mlp";
import { candidateRecipes, fitRecipe, marginsOf } from "../../training/select";
import { stratifiedSplit } from "../../training/split";
import { ROOT, runCli } from "./cli-run";

// Train with the CLI's defaults on 80% of Telco, then judge the model on the other 20%, which
// it never saw (the train CLI carves its own hold-out out of the 80% as well).
const dir = mkdtempSync(join(tmpdir(), "foresight-telco-"));
const trainCsv = join(dir, "telco-train.csv");
const heldOutCsv = join(dir, "telco-heldout.csv");
const modelDir = join(dir, "model");
let trainRun: Awaited<ReturnType<typeof runCli>>;
let evaluation: Record<string, unknown>;
let scorer: Scorer;

beforeAll(async () => {
  const telco = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
  const churn = telco.header.indexOf("Churn");
  const { train, holdout } = stratifiedSplit(
    telco.rows.map((r) => (r[churn] === "Yes" ? 1 : 0)),
    { fraction: 0.2, seed: 1 },
  );
  writeFileSync(trainCsv, toCsv(telco.header, train.map((i) => telco.rows[i])));
  writeFileSync(heldOutCsv, toCsv(telco.header, holdout.map((i) => telco.rows[i])));
  trainRun = await runCli("train", ["--data", trainCsv, "--label", "Churn", "--positive", "Yes", "--id", "customerID", "--arr", "MonthlyCharges", "--out", modelDir]);
  if (trainRun.code !== 0) throw new Error(`train failed (${trainRun.code}): ${trainRun.stderr}`);
  const evalRun = await runCli("evaluate", ["--model", modelDir, "--data", heldOutCsv, "--label", "Churn", "--positive", "Yes", "--json"]);
  if (evalRun.code !== 0) throw new Error(`evaluate failed (${evalRun.code}): ${evalRun.stderr}`);
  evaluation = JSON.parse(evalRun.stdout.trim().split("\n").at(-1) ?? "");
  scorer = Scorer.fromJSON(readFileSync(join(modelDir, "model.json"), "utf8"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Telco: train CLI then evaluate CLI on a held-out 20%", () => {
  it("ranks churners well on rows it never saw (ROC-AUC >= 0.83)", () => {
    expect(evaluation.rows).toBe(1409);
    expect(evaluation.positives).toBe(374);
    expect(evaluation.auc).toBeGreaterThanOrEqual(0.83);
    expect(evaluation.prAuc).toBeGreaterThan(0.55);
    expect(evaluation.brier).toBeLessThan(0.16);
    expect(Array.isArray(evaluation.tiers)).toBe(true);
  });

  it("prints a summary with metrics, tiers and drivers", () => {
    for (const text of ["ROC-AUC", "PR-AUC", "Brier", "Log loss", "red", "yellow", "green", "Signals that move scores most", "Model selection", "gbdt", "Reliability", "customerID", "the account id (--id)"]) {
      expect(trainRun.stdout).toContain(text);
    }
  });

  it("writes a model.json whose checksum file matches, with provenance and metrics", async () => {
    const json = readFileSync(join(modelDir, "model.json"));
    const checksum = readFileSync(join(modelDir, "model.json.sha256"), "utf8");
    const file = await readCsvFile(trainCsv);
    expect(checksum).toMatch(/^[0-9a-f]{64} {2}model\.json\n$/);
    expect(checksum.slice(0, 64)).toBe(await sha256Hex(json));
    const a = scorer.artifact;
    expect(a.version).toMatch(/^churn-\d{8}-\d{6}-[0-9a-f]{6}$/);
    expect(a.training.dataSha256).toBe(file.sha256);
    expect(a.idColumn).toBe("customerID");
    expect(a.arrColumn).toBe("MonthlyCharges");
    for (const k of ["auc", "prAuc", "brier", "logLoss", "rows", "positives", "holdoutRows"]) expect(typeof a.metrics[k], k).toBe("number");
    expect(a.metrics.rows).toBe(5634);
  });

  it("scores a month-to-month fiber-optic customer two months in above 0.5", () => {
    const p = scorer.probability({
      gender: "Female", SeniorCitizen: "0", Partner: "No", Dependents: "No", tenure: "2", PhoneService: "Yes",
      MultipleLines: "No", InternetService: "Fiber optic", OnlineSecurity: "No", OnlineBackup: "No", DeviceProtection: "No",
      TechSupport: "No", StreamingTV: "No", StreamingMovies: "No", Contract: "Month-to-month", PaperlessBilling: "Yes",
      PaymentMethod: "Electronic check", MonthlyCharges: "70.70", TotalCharges: "151.65",
    });
    expect(p).toBeGreaterThan(0.5);
    // And a two-year DSL customer of five years is low risk.
    const low = scorer.probability({ tenure: "60", Contract: "Two year", InternetService: "DSL", MonthlyCharges: "55", TotalCharges: "3300", OnlineSecurity: "Yes", TechSupport: "Yes", PaymentMethod: "Bank transfer (automatic)" });
    expect(low).toBeLessThan(0.2);
  });

  it("golden: tfjs's own predictions and the plain-TS scorer agree within 1e-6 on held-out rows (logistic and MLP)", async () => {
    const trainFile = await readCsvFile(trainCsv);
    const heldOut = await readCsvFile(heldOutCsv);
    const input = { csv: trainFile.csv, records: trainFile.records, label: "Churn", id: "customerID", exclude: [] };
    const rows = trainFile.records.map((_, i) => i);
    const y = Uint8Array.from(trainFile.records, (r) => (r.Churn === "Yes" ? 1 : 0));
    for (const recipe of [candidateRecipes(7).find((r) => r.family === "logistic")!, candidateRecipes(7).find((r) => r.family === "mlp")!]) {
      const fitted = await fitRecipe(recipe, input, rows, y);
      const m = encodeMatrix(fitted.features, heldOut.records);
      const tfjs =
        fitted.model.family === "logistic"
          ? await predictProbabilities(fitted.model, m.x, m.rows, m.cols)
          : Float64Array.from(await predictMlpMargins(fitted.model as MlpParams, m.x, m.rows, m.cols), (z) => 1 / (1 + Math.exp(-z)));
      const margins = marginsOf(fitted, heldOut.records, heldOut.records.map((_, i) => i));
      let maxDiff = 0;
      margins.forEach((z, i) => (maxDiff = Math.max(maxDiff, Math.abs(tfjs[i] - 1 / (1 + Math.exp(-z))))));
      expect(heldOut.records.length).toBe(1409);
      expect(maxDiff, recipe.name).toBeLessThan(1e-6);
    }
  });
});
