import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { csvRecords, parseCsv, toCsv } from "../../shared/csv";
import { parseArtifact } from "../../shared/model/artifact";
import { sigmoid } from "../../shared/model/sigmoid";
import { scoreInWords, type WordedDriver } from "../../shared/cs/wording";
import { Scorer } from "../../shared/model/scorer";
import { readCsvFile } from "../../training/dataset";
import { UsageError } from "../../training/errors";
import { buildScorecard, MIN_LABELLED_ROWS, nextAction, recogniseSignal } from "../../training/scorecard";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SEED = join(ROOT, "training/data/seed-sample.csv");
const RECOGNISED = ["Login_Days_Last_30", "Feature_Adoption_Percentage", "Support_Tickets_Last_Quarter", "Days_Since_Last_QBR", "Contract_Value", "Renewal_Date_Days_Away"];
const now = new Date("2026-01-01T00:00:00Z");

describe("cold-start scorecard on the five seed accounts", async () => {
  const file = await readCsvFile(SEED);
  const artifact = await buildScorecard(file, { id: "Customer_ID", now });
  const scorer = new Scorer(artifact);
  const scores = file.records.map((row) => ({ id: row.Customer_ID, row, score: scoreInWords(scorer, row, 100) }));
  const ranked = [...scores].sort((a, b) => b.score.churnProbability - a.score.churnProbability);

  it("is a valid scorecard artifact that says why no model was fitted", () => {
    const reloaded = parseArtifact(JSON.parse(JSON.stringify(artifact)));
    expect(reloaded.model.family).toBe("scorecard");
    if (artifact.model.family !== "scorecard") throw new Error("not a scorecard");
    expect(artifact.model.reason).toBe("no label column");
    expect(artifact.features.map((f) => f.name)).toEqual(RECOGNISED);
    expect(artifact.features.every((f) => f.kind === "numeric" && !f.log)).toBe(true);
    expect(artifact.training.excludedColumns).toEqual([{ name: "Customer_ID", reason: "the account id (--id)" }]);
    expect(artifact.tiers).toEqual({ red: 0.7, yellow: 0.4 });
  });

  it("ranks CUST002 and CUST004 as the two highest risks", () => {
    expect(ranked.slice(0, 2).map((s) => s.id).sort()).toEqual(["CUST002", "CUST004"]);
    expect(ranked.at(-1)?.id).toBe("CUST003");
  });

  it("explains each of them with drivers in the user's column names and a next action", () => {
    for (const id of ["CUST002", "CUST004"]) {
      const { score } = scores.find((s) => s.id === id) ?? scores[0];
      const raising = score.drivers.filter((d) => d.effect === "raises risk").map((d) => d.feature);
      expect(raising.length).toBeGreaterThanOrEqual(4);
      expect(raising).toEqual(expect.arrayContaining(["Login_Days_Last_30", "Feature_Adoption_Percentage", "Support_Tickets_Last_Quarter", "Days_Since_Last_QBR"]));
      expect(nextAction(score.drivers)).not.toMatch(/^No risk driver/);
    }
    const cust002 = scores.find((s) => s.id === "CUST002")?.score;
    const cust004 = scores.find((s) => s.id === "CUST004")?.score;
    // CUST002 barely logs in (8 days of 30); CUST004's weakest point is adoption (45%).
    expect(cust002?.drivers[0].feature).toBe("Login_Days_Last_30");
    expect(nextAction(cust002?.drivers ?? [])).toBe("Re-engage users: share a usage report and tips");
    expect(cust004?.drivers[0].feature).toBe("Feature_Adoption_Percentage");
    expect(nextAction(cust004?.drivers ?? [])).toBe("Run an enablement session on unused features");
  });

  it("has drivers that add up exactly: base + Σ contributions = margin", () => {
    if (artifact.model.family !== "scorecard") throw new Error("not a scorecard");
    const { intercept, weights } = artifact.model;
    for (const { row, score } of scores) {
      // The scorecard's margin by its definition: intercept + Σ w_j·(x_j − baseline_j).
      const margin = artifact.features.reduce((z, f, j) => (f.kind === "numeric" ? z + weights[j] * ((Number(row[f.name]) - f.mean) / f.std - artifact.baseline[j]) : z), intercept);
      const sum = score.drivers.reduce((a, d) => a + d.contribution, score.baseValue);
      expect(sum).toBeCloseTo(margin, 10);
      expect(score.churnProbability).toBeCloseTo(sigmoid(margin), 12);
    }
  });

  it("puts an average account at 25% when there is no label", () => {
    const average = Object.fromEntries(artifact.features.map((f) => [f.name, f.kind === "numeric" ? f.mean : null]));
    const score = scorer.score(average);
    expect(score.churnProbability).toBeCloseTo(0.25, 10);
    expect(score.drivers).toEqual([]);
    // A missing signal reads as the average account's, so it moves nothing either.
    expect(scorer.score({}).churnProbability).toBeCloseTo(0.25, 10);
  });

  it("names every recognised column in the rationale, with its direction in plain words", () => {
    if (artifact.model.family !== "scorecard") throw new Error("not a scorecard");
    const { rationale, weights } = artifact.model;
    expect(Object.keys(rationale)).toEqual(RECOGNISED);
    for (const [j, name] of RECOGNISED.entries()) {
      expect(rationale[name]).toContain(name);
      expect(rationale[name]).toContain(weights[j] < 0 ? "a lower" : "a higher");
      expect(rationale[name]).toMatch(/because/);
    }
    expect(rationale.Support_Tickets_Last_Quarter).toMatch(/support tickets/);
    expect(weights[RECOGNISED.indexOf("Support_Tickets_Last_Quarter")]).toBeGreaterThan(0);
    expect(weights[RECOGNISED.indexOf("Days_Since_Last_QBR")]).toBeGreaterThan(0);
    for (const lowerIsRisk of ["Login_Days_Last_30", "Feature_Adoption_Percentage", "Renewal_Date_Days_Away", "Contract_Value"]) {
      expect(weights[RECOGNISED.indexOf(lowerIsRisk)]).toBeLessThan(0);
    }
  });
});

describe("scorecard with a few labels and columns it does not know", async () => {
  const seed = parseCsv(readFileSync(SEED, "utf8"));
  const extra = {
    header: [...seed.header, "Region", "Plan", "churned"],
    rows: seed.rows.map((r, i) => [...r, ["EMEA", "AMER", "EMEA", "AMER", "EMEA"][i], ["Pro", "Pro", "Basic", "Basic", "Pro"][i], i === 1 || i === 3 ? "yes" : i === 4 ? "" : "no"]),
  };
  const artifact = await buildScorecard(extra, { label: "churned", positive: "yes", id: "Customer_ID", arr: "Contract_Value", dataFile: "accounts.csv", now });

  it("gives unrecognised columns weight 0, lists them, and still accepts them when scoring", () => {
    if (artifact.model.family !== "scorecard") throw new Error("not a scorecard");
    const { weights, rationale } = artifact.model;
    expect(artifact.metrics.unrecognisedColumns).toEqual(["Region", "Plan"]);
    const region = artifact.features.findIndex((f) => f.name === "Region");
    expect(region).toBeGreaterThan(0);
    expect(weights.slice(RECOGNISED.length)).toEqual([0, 0, 0, 0]);
    expect(rationale.Region).toMatch(/not a signal the cold-start scorecard knows, so it carries no weight \(0\)/);
    const score = new Scorer(artifact).score(csvRecords(extra)[1]);
    expect(score.drivers.map((d) => d.feature)).not.toContain("Region");
    expect(artifact.training.excludedColumns.map((e) => e.name)).toEqual(["Customer_ID", "churned"]);
  });

  it("says how many labelled rows it had and starts from their churn rate, shrunk toward 25%", () => {
    if (artifact.model.family !== "scorecard") throw new Error("not a scorecard");
    expect(artifact.model.reason).toBe(`4 labelled rows; at least ${MIN_LABELLED_ROWS} are needed before a model is trusted`);
    // 2 of 4 churned, plus four pseudo-accounts at 25%: (2 + 1) / (4 + 4).
    expect(artifact.metrics.baseRate).toBeCloseTo(0.375, 12);
    expect(sigmoid(artifact.model.intercept)).toBeCloseTo(0.375, 12);
    expect(artifact.arrColumn).toBe("Contract_Value");
  });

  it("refuses options it cannot honour, naming the flag", async () => {
    await expect(buildScorecard(extra, { label: "Churn" })).rejects.toThrow(UsageError);
    await expect(buildScorecard(extra, { label: "churned" })).rejects.toThrow(/^--positive/);
    await expect(buildScorecard({ header: ["Region", "Plan"], rows: extra.rows.map((r) => r.slice(7, 9)) })).rejects.toThrow(/no column reads as a customer-success signal/);
  });

  it("reads a parsed CSV and its file alike", async () => {
    const viaCsv = await buildScorecard(parseCsv(toCsv(seed.header, seed.rows)), { id: "Customer_ID", now });
    const viaFile = await buildScorecard(await readCsvFile(SEED), { id: "Customer_ID", now });
    expect(viaCsv.model).toEqual(viaFile.model);
  });
});

describe("recognising CS signals by column name", () => {
  it.each([
    ["Login_Days_Last_30", "logins"],
    ["logins30d", "logins"],
    ["active days", "logins"],
    ["Feature Adoption %", "adoption"],
    ["adoption_rate", "adoption"],
    ["Support_Tickets_Last_Quarter", "tickets"],
    ["open-support-cases", "tickets"],
    ["daysSinceLastQBR", "sinceQbr"],
    ["days_since_last_meeting", "sinceQbr"],
    ["Renewal_Date_Days_Away", "renewal"],
    ["days_to_renewal", "renewal"],
    ["ARR", "contractValue"],
    ["MRR (USD)", "contractValue"],
    ["contract_value", "contractValue"],
    ["days_since_last_login", "sinceLogin"],
    ["days_since_renewal", null],
    ["days_until_next_QBR", null],
    ["days_since_last_ticket", null],
    ["Region", null],
    ["renewal_date", null],
    ["Meetings_Last_Quarter", null],
    ["carrier", null],
  ])("%s → %s", (column, signal) => {
    expect(recogniseSignal(column)).toBe(signal);
  });
});

describe("nextAction", () => {
  const driver = (feature: string, contribution: number): WordedDriver => ({
    feature,
    value: 1,
    contribution,
    effect: contribution > 0 ? "raises risk" : "lowers risk",
    phrase: `${feature} of 1 ${contribution > 0 ? "raises" : "lowers"} risk`,
  });

  it.each([
    ["Support_Tickets_Last_Quarter", "Escalate open tickets with support and schedule a health call"],
    ["Days_Since_Last_QBR", "Book a QBR with the champion"],
    ["Renewal_Date_Days_Away", "Start the renewal conversation now"],
    ["Feature_Adoption_Percentage", "Run an enablement session on unused features"],
    ["Login_Days_Last_30", "Re-engage users: share a usage report and tips"],
  ])("maps a top driver %s to %j", (feature, action) => {
    expect(nextAction([driver("Contract_Value", -2), driver(feature, 0.9), driver("Region", 0.3)])).toBe(action);
  });

  it("reviews a column it does not know, and asks for nothing when no driver raises risk", () => {
    expect(nextAction([driver("Contract", 0.7)])).toBe("Review Contract with the account owner: Contract of 1 raises risk");
    expect(nextAction([driver("Login_Days_Last_30", -1)])).toMatch(/^No risk driver stands out/);
    expect(nextAction([])).toMatch(/^No risk driver stands out/);
  });
});
