import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseCsv, toCsv } from "../../shared/csv";
import { encodedNames, encodeRow, type FeatureSpec } from "../../shared/model/features";
import { inferFeatures } from "../../training/infer";
import { stratifiedSplit } from "../../training/split";

const telco = parseCsv(readFileSync(new URL("../../training/data/telco.csv", import.meta.url), "utf8"));
const byName = (features: FeatureSpec[]) => new Map(features.map((f) => [f.name, f]));

describe("type inference on Telco", () => {
  const inference = inferFeatures(telco, { label: "Churn", id: "customerID" });
  const f = byName(inference.features);

  it("reads tenure, MonthlyCharges and TotalCharges as numeric", () => {
    for (const name of ["tenure", "MonthlyCharges", "TotalCharges"]) expect(f.get(name)?.kind, name).toBe("numeric");
  });

  it("reads Yes/No and 0/1 columns as boolean, keeping the data's own spellings", () => {
    expect(f.get("Partner")).toMatchObject({ kind: "boolean", trueValues: ["Yes"], falseValues: ["No"] });
    expect(f.get("SeniorCitizen")).toMatchObject({ kind: "boolean", trueValues: ["1"], falseValues: ["0"] });
  });

  it("reads Contract as categorical with levels by frequency", () => {
    expect(f.get("Contract")).toMatchObject({ kind: "categorical", levels: ["Month-to-month", "Two year", "One year"] });
    // "No internet service" is a real level, not a missing value.
    expect(f.get("OnlineSecurity")).toMatchObject({ kind: "categorical", levels: ["No", "Yes", "No internet service"] });
  });

  it("leaves out the id and the label, with reasons", () => {
    expect(f.has("customerID")).toBe(false);
    expect(f.has("Churn")).toBe(false);
    expect(inference.excludedColumns.map((e) => e.name).sort()).toEqual(["Churn", "customerID"]);
  });

  it("spots customerID as an identifier even without --id", () => {
    const auto = inferFeatures(telco, { label: "Churn" });
    const reason = auto.excludedColumns.find((e) => e.name === "customerID")?.reason;
    expect(reason).toMatch(/identifier/);
  });

  it("treats TotalCharges blanks as missing, filled with the training median", () => {
    const report = inference.columns.find((c) => c.name === "TotalCharges");
    expect(report?.missing).toBe(11);
    const spec = f.get("TotalCharges");
    if (spec?.kind !== "numeric") throw new Error("TotalCharges should be numeric");
    const x = new Float64Array(encodedNames(inference.features).length);
    const imputed = encodeRow(inference.features, { TotalCharges: " " }, x);
    expect(imputed).toContain("TotalCharges");
    const j = encodedNames(inference.features).indexOf("TotalCharges");
    expect(x[j] * spec.std + spec.mean).toBeCloseTo(spec.fill, 9);
  });

  it("computes numeric statistics on the training rows only", () => {
    const y = telco.rows.map((r) => (r[telco.header.indexOf("Churn")] === "Yes" ? 1 : 0));
    const { train } = stratifiedSplit(y, { fraction: 0.2, seed: 3 });
    const onTrain = byName(inferFeatures(telco, { label: "Churn", id: "customerID", rows: train }).features).get("tenure");
    const j = telco.header.indexOf("tenure");
    const mean = train.reduce((s, i) => s + Number(telco.rows[i][j]), 0) / train.length;
    expect(onTrain).toMatchObject({ kind: "numeric" });
    expect((onTrain as { mean: number }).mean).toBeCloseTo(mean, 9);
    expect((onTrain as { mean: number }).mean).not.toBeCloseTo((f.get("tenure") as { mean: number }).mean, 6);
  });
});

describe("type inference on an unfamiliar CSV", () => {
  // 200 accounts with the kinds of columns customers export from a CRM.
  const header = ["account_uuid", "email", "signup_date", "notes", "plan", "region", "active", "health", "seats", "row", "source", "churned"];
  const plans = ["starter", "growth", "scale"];
  const words = ["asked", "about", "pricing", "renewal", "call", "went", "well", "needs", "training", "champion", "left"];
  const rows = Array.from({ length: 200 }, (_, i) => [
    `5f2c${i.toString(16).padStart(4, "0")}-aa11-4b2c-9d3e-${(i * 7919).toString(16).padStart(12, "0")}`,
    `user${i}@example.com`,
    `2024-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")}`,
    `${words[i % 11]} ${words[(i * 3) % 11]} ${words[(i * 7) % 11]} ${words[(i * 5) % 11]} #${i}`,
    i === 0 ? "legacy-gold" : plans[i % 3], // one rare level
    i % 10 === 0 ? "N/A" : ["emea", "amer", "apac"][i % 3],
    i % 17 === 0 ? "" : i % 2 ? "TRUE" : "FALSE",
    i % 13 === 0 ? "?" : i % 29 === 0 ? "null" : String((i * 37) % 100),
    String(5 + (i % 40)),
    String(i + 1),
    "import",
    i % 4 === 0 ? "yes" : "no",
  ]);
  const csv = parseCsv(toCsv(header, rows));
  const inference = inferFeatures(csv, { label: "churned" });
  const f = byName(inference.features);
  const reason = (name: string) => inference.excludedColumns.find((e) => e.name === name)?.reason ?? "";

  it("keeps the real signals with the right types", () => {
    expect(f.get("plan")).toMatchObject({ kind: "categorical", levels: ["growth", "scale", "starter"] });
    expect(f.get("region")).toMatchObject({ kind: "categorical" });
    expect(f.get("active")).toMatchObject({ kind: "boolean", trueValues: ["TRUE"], falseValues: ["FALSE"] });
    expect(f.get("health")).toMatchObject({ kind: "numeric" });
    expect(f.get("seats")).toMatchObject({ kind: "numeric" });
    expect([...f.keys()].sort()).toEqual(["active", "health", "plan", "region", "seats"]);
  });

  it("counts NA, ?, null and blank cells as missing in numbers and yes/no; in text, placeholder words stay levels", () => {
    const missing = Object.fromEntries(inference.columns.map((c) => [c.name, c.missing]));
    // "N/A" in a text column may be a real value ("NA" = North America); it becomes a level.
    expect(missing.region).toBe(0);
    expect(f.get("region")).toMatchObject({ levels: expect.arrayContaining(["N/A", "emea"]) });
    expect(missing.active).toBe(12);
    expect(missing.health).toBe(16 + 6);
  });

  it("leaves out identifiers, dates, free text, row numbers and constants, saying why", () => {
    expect(reason("account_uuid")).toMatch(/identifier/);
    expect(reason("email")).toMatch(/identifier/);
    expect(reason("signup_date")).toMatch(/date/);
    expect(reason("notes")).toMatch(/free text/);
    expect(reason("row")).toMatch(/row number/);
    expect(reason("source")).toMatch(/constant/);
    expect(reason("churned")).toMatch(/label/);
  });

  it("drops rare categorical levels so they encode as all zeros", () => {
    const x = new Float64Array(encodedNames(inference.features).length);
    encodeRow(inference.features, { plan: "legacy-gold" }, x);
    const names = encodedNames(inference.features);
    expect(names.filter((n) => n.startsWith("plan=")).map((n) => x[names.indexOf(n)])).toEqual([0, 0, 0]);
  });
});
