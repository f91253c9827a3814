import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mulberry32 } from "../../training/split";
import { describe, expect, it } from "vitest";
import { type Csv, parseCsv, toCsv } from "../../shared/csv";
import type { FeatureSpec } from "../../shared/model/features";
import { parseLabels } from "../../training/dataset";
import { inferFeatures } from "../../training/infer";
import { leakageWarnings } from "../../training/leakage";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A small seeded generator so the synthetic accounts are the same every run. */
const random = (seed: number) => mulberry32(seed);

/**
 * 400 accounts, 30% churned. Leaks: `cancel_flag` (Y on exactly the churned rows), `status`
 * (closed/open, one to one with the label), `active` (the label inverted),
 * `days_since_cancellation` (filled in only for churners). Ordinary signals: logins, tickets,
 * plan, region, ARR; `ticket_ref` is unique per row.
 */
function accounts(): Csv {
  const rand = random(7);
  const header = ["account_id", "logins_30d", "tickets", "plan", "region", "arr", "ticket_ref", "cancel_flag", "status", "active", "days_since_cancellation", "churned"];
  const rows: string[][] = [];
  for (let i = 0; i < 400; i++) {
    const churned = rand() < 0.3;
    const logins = Math.max(0, Math.round((churned ? 12 : 18) + 7 * (rand() + rand() + rand() - 1.5) * 2));
    const tickets = Math.round(rand() * (churned ? 6 : 4));
    const plan = rand() < (churned ? 0.5 : 0.35) ? "Basic" : rand() < 0.5 ? "Pro" : "Enterprise";
    rows.push([
      `A${1000 + i}`,
      String(logins),
      String(tickets),
      plan,
      ["EMEA", "AMER", "APAC"][Math.floor(rand() * 3)],
      String(Math.round(5000 + rand() * 95000)),
      `T-${Math.floor(rand() * 1e9)}`,
      churned ? "Y" : "N",
      churned ? "closed" : "open",
      churned ? "No" : "Yes",
      churned ? String(1 + Math.floor(rand() * 60)) : "",
      churned ? "yes" : "no",
    ]);
  }
  return { header, rows };
}

describe("leakage warnings", () => {
  const csv = accounts();
  const labels = parseLabels(csv, "churned", "yes");
  const { features } = inferFeatures(csv, { label: "churned", id: "account_id" });
  const warnings = leakageWarnings(csv, labels, features);
  const flagged = (name: string) => warnings.find((w) => w.column === name);

  it("flags a copied label, its inverse and a categorical that maps one to one onto it, by the user's column name", () => {
    expect(flagged("cancel_flag")).toMatchObject({ auc: 1, reason: 'is identical to the label: "Y" on every churned row and "N" on every other' });
    expect(flagged("active")).toMatchObject({ auc: 1, reason: 'is the exact inverse of the label: "No" on every churned row and "Yes" on every other' });
    expect(features.find((f) => f.name === "status")?.kind).toBe("categorical");
    expect(flagged("status")?.reason).toBe('copies the label: its two values map one to one onto it, "closed" = churned and "open" = stayed');
  });

  it("flags a near-perfect proxy that is only filled in for churners", () => {
    const w = flagged("days_since_cancellation");
    expect(w?.auc).toBe(1);
    expect(w?.reason).toMatch(/^is filled in on 100% of churned rows and 0% of the others/);
  });

  it("does not flag ordinary signals, even predictive ones or a unique reference scored as categories", () => {
    expect(warnings.map((w) => w.column).sort()).toEqual(["active", "cancel_flag", "days_since_cancellation", "status"]);
    // Level churn rates are out of fold: a unique value per row teaches nothing about other rows.
    const asCategories: FeatureSpec[] = [{ name: "ticket_ref", kind: "categorical", levels: [] }];
    expect(leakageWarnings(csv, labels, asCategories)).toEqual([]);
  });

  it("flags a numeric column that separates the outcomes alone, in either direction", () => {
    const rand = random(3);
    const y = labels.y;
    const withProxy: Csv = {
      header: [...csv.header, "refund_total", "seats_left"],
      rows: csv.rows.map((r, i) => [...r, String(y[i] ? 100 + rand() * 50 : rand() * 102), String(y[i] ? Math.floor(rand() * 3) : 3 + Math.floor(rand() * 40))]),
    };
    const spec: FeatureSpec[] = [
      { name: "refund_total", kind: "numeric", mean: 0, std: 1, fill: 0 },
      { name: "seats_left", kind: "numeric", mean: 0, std: 1, fill: 0 },
      { name: "logins_30d", kind: "numeric", mean: 0, std: 1, fill: 0 },
    ];
    const found = leakageWarnings(withProxy, labels, spec);
    expect(found.map((w) => w.column)).toEqual(["seats_left", "refund_total"]);
    expect(found[0]).toMatchObject({ auc: 1, reason: "separates churned from stayed almost perfectly on its own (lower values mean churn)" });
    expect(found[1].auc).toBeGreaterThan(0.95);
    expect(found[1].auc).toBeLessThan(1);
    expect(found[1].reason).toMatch(/higher values mean churn/);
  });

  it("takes the label column by name and a subset of rows, as train() calls it", () => {
    const rows = Array.from({ length: 300 }, (_, i) => i);
    const byName = leakageWarnings(csv, { label: "churned", positive: "YES", rows, features });
    const byLabels = leakageWarnings(csv, { rows, y: labels.y.slice(0, 300) }, features);
    expect(byName).toEqual(byLabels);
    expect(byName.map((w) => w.column).sort()).toEqual(["active", "cancel_flag", "days_since_cancellation", "status"]);
  });

  it("stays quiet with too few rows of an outcome to judge", () => {
    const few: Csv = { header: csv.header, rows: csv.rows.filter((r) => r[11] === "no").concat(csv.rows.filter((r) => r[11] === "yes").slice(0, 4)) };
    expect(leakageWarnings(few, { label: "churned", positive: "yes", features })).toEqual([]);
  });
});

describe("leakage on real data", () => {
  it("finds nothing to warn about in Telco", () => {
    const telco = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
    const labels = parseLabels(telco, "Churn", "Yes");
    const { features } = inferFeatures(telco, { label: "Churn", id: "customerID" });
    expect(features.length).toBeGreaterThan(15);
    expect(leakageWarnings(telco, labels, features)).toEqual([]);
    // Nor with a lower bar: the strongest single Telco signal (Contract) sits near 0.75.
    expect(leakageWarnings(telco, labels, features, { threshold: 0.8 })).toEqual([]);
  });

  it("flags Telco's label pasted in as an extra column", () => {
    const telco = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
    const churn = telco.header.indexOf("Churn");
    const leaky = parseCsv(toCsv([...telco.header, "Churn Reason"], telco.rows.map((r, i) => [...r, r[churn] === "Yes" ? ["Competitor offer", "Price", "Moved away"][i % 3] : ""])));
    const { features } = inferFeatures(leaky, { label: "Churn", id: "customerID" });
    const warnings = leakageWarnings(leaky, { label: "Churn", positive: "Yes", features });
    expect(warnings.map((w) => w.column)).toEqual(["Churn Reason"]);
    expect(warnings[0].reason).toMatch(/out of fold/);
  });
});
