import { describe, expect, it } from "vitest";
import { runCli } from "./cli-run";

const TELCO = "training/data/telco.csv";

describe("train and evaluate CLIs refuse bad usage with exit code 2", () => {
  it("names a missing required flag", async () => {
    const r = await runCli("train", ["--data", TELCO, "--label", "Churn", "--positive", "Yes"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out/);
    expect(r.stderr).toMatch(/usage: npm run train/);
  });

  it("lists the CSV's columns when the label column does not exist", async () => {
    const r = await runCli("train", ["--data", TELCO, "--label", "churn_flag", "--positive", "Yes", "--out", "/tmp/never-written"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--label: no column named "churn_flag"/);
    expect(r.stderr).toMatch(/customerID, gender, SeniorCitizen/);
  });

  it("shows the label's values when --positive matches no row", async () => {
    const r = await runCli("train", ["--data", TELCO, "--label", "Churn", "--positive", "Churned", "--out", "/tmp/never-written"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--positive: .*values seen: No \(5174\), Yes \(1869\)/);
  });

  it("rejects an unknown flag and a missing model", async () => {
    const [unknown, noModel] = await Promise.all([
      runCli("train", ["--data", TELCO, "--lable", "Churn"]),
      runCli("evaluate", ["--model", "/tmp/no-such-model-dir", "--data", TELCO, "--json"]),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--lable/);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/--model: no model at/);
  });
});
