/**
 * `npm run export-training` against a throwaway local D1, then `npm run train --target expansion`
 * on its CSV: an expansion model whose label comes from `expanded` outcomes recorded in D1.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvRecords, parseCsv } from "../../shared/csv";
import { db, runBatch } from "../../shared/db/write";
import { upsertAccountStatements } from "../../shared/db/accounts";
import { mulberry32 } from "../../training/split";
import { type LocalPlatform, openLocalPlatform } from "../../training/platform";

const root = path.resolve(import.meta.dirname, "../..");
let state: string;
let platform: LocalPlatform | undefined;

function npm(args: string[]) {
  return spawnSync("npm", ["run", "--silent", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORESIGHT_STATE_DIR: state } });
}

const AS_OF = "2026-03-31";
const N = 400;

beforeAll(async () => {
  state = mkdtempSync(path.join(tmpdir(), "foresight-export-"));
  execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
  process.env.FORESIGHT_STATE_DIR = state;
  platform = await openLocalPlatform();
  const d = db(platform.env.DB);
  const random = mulberry32(5);
  const rows = Array.from({ length: N }, (_, i) => {
    const logins = Math.round(random() * 30);
    const seats = 5 + Math.round(random() * 50);
    return { id: `EX-${String(i).padStart(3, "0")}`, arr: 1000, features: { logins_30d: logins, seats_used_pct: Math.round(random() * 100), seats, plan: random() < 0.5 ? "team" : "starter" } };
  });
  // The snapshot on AS_OF is what training may see; a later one (after AS_OF) must never leak in.
  await runBatch(d, upsertAccountStatements(d, rows, AS_OF));
  await runBatch(d, upsertAccountStatements(d, rows.map((r) => ({ ...r, features: { ...r.features, logins_30d: 999 } })), "2026-05-01"));
  const outcomes: string[] = [];
  rows.forEach((r, i) => {
    const p = 1 / (1 + Math.exp(-(-1.5 + 0.15 * (r.features.logins_30d - 15))));
    if (random() < p) outcomes.push(`('${r.id}', 'expanded', '2026-05-${String(1 + (i % 28)).padStart(2, "0")}', 500)`);
  });
  outcomes.push("('EX-000', 'churned', '2026-02-01', NULL)"); // gone before AS_OF: left out
  outcomes.push("('EX-001', 'churned', '2026-04-15', NULL)"); // churned within the horizon
  outcomes.push("('EX-002', 'expanded', '2026-09-01', 100)"); // after the 90-day horizon: not counted
  await platform.env.DB.prepare(`INSERT INTO outcomes (account_id, type, date, amount) VALUES ${outcomes.join(", ")}`).run();
  // CSM feedback: the latest verdict on or before AS_OF is a column; anything later must not leak in.
  const feedback = [
    "('EX-010', 'agree', 'red', NULL, '2026-03-15T10:00:00.000Z')",
    "('EX-011', 'disagree', 'red', 'green', '2026-03-20T10:00:00.000Z')",
    "('EX-011', 'agree', 'red', NULL, '2026-04-10T10:00:00.000Z')", // after AS_OF
    "('EX-012', 'disagree', 'green', 'yellow', '2026-03-31T23:00:00.000Z')", // on AS_OF itself
    "('EX-013', 'disagree', 'green', 'red', '2026-04-01T00:00:00.000Z')", // the day after
  ];
  // And a verdict on a quarter of the others, so training sees a filled column.
  for (let i = 20; i < N; i += 4) feedback.push(`('EX-${String(i).padStart(3, "0")}', '${i % 8 === 0 ? "agree" : "disagree"}', 'yellow', ${i % 8 === 0 ? "NULL" : "'red'"}, '2026-02-01T09:00:00.000Z')`);
  await platform.env.DB.prepare(`INSERT INTO feedback (account_id, verdict, risk_tier, expected_tier, created_at) VALUES ${feedback.join(", ")}`).run();
  await platform.dispose();
  platform = undefined;
}, 120_000);

afterAll(async () => {
  await platform?.dispose();
});

describe("export-training", () => {
  it("writes a leakage-free CSV: snapshot on or before --as-of, labels from the horizon after it", () => {
    const out = path.join(state, "train.csv");
    const run = npm(["export-training", "--", "--as-of", AS_OF, "--out", out]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`${N - 1} accounts as of ${AS_OF}`);
    expect(run.stdout).toContain("1 already churned");
    const records = csvRecords(parseCsv(readFileSync(out, "utf8")));
    expect(run.stdout).toContain("CSM feedback by then (csm_verdict, csm_expected_tier): 98 accounts");
    expect(Object.keys(records[0])).toEqual(["account_id", "snapshot_as_of", "logins_30d", "plan", "seats", "seats_used_pct", "csm_verdict", "csm_expected_tier", "churned", "expanded"]);
    expect(records.some((r) => r.account_id === "EX-000")).toBe(false);
    expect(records.every((r) => r.snapshot_as_of === AS_OF && r.logins_30d !== "999")).toBe(true);
    const byId = new Map(records.map((r) => [r.account_id, r]));
    expect(byId.get("EX-001")!.churned).toBe("yes");
    expect(byId.get("EX-002")!.expanded).toBe("no");
    const csm = (id: string) => [byId.get(id)!.csm_verdict, byId.get(id)!.csm_expected_tier];
    expect(csm("EX-010")).toEqual(["agree", "red"]); // agreeing: the score's own tier
    expect(csm("EX-011")).toEqual(["disagree", "green"]); // the later agree is after AS_OF
    expect(csm("EX-012")).toEqual(["disagree", "yellow"]);
    expect(csm("EX-013")).toEqual(["", ""]);
    expect(csm("EX-003")).toEqual(["", ""]);
    expect(csm("EX-024")).toEqual(["agree", "yellow"]);
    expect(csm("EX-028")).toEqual(["disagree", "red"]);
    expect(records.filter((r) => r.expanded === "yes").length).toBeGreaterThan(60);
  });

  it("refuses an --as-of whose horizon has not passed, and a malformed date, naming the flag", () => {
    const future = npm(["export-training", "--", "--as-of", "2099-01-01", "--out", path.join(state, "x.csv")]);
    expect(future.status).toBe(2);
    expect(future.stderr).toContain("--as-of");
    expect(future.stderr).toContain("not all known yet");
    const bad = npm(["export-training", "--", "--as-of", "2026-02-30", "--out", path.join(state, "x.csv")]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("real date");
  });

  it("trains an expansion model on the exported expanded outcomes", () => {
    const out = path.join(state, "train.csv");
    const dir = path.join(state, "expansion-model");
    const run = npm(["train", "--", "--data", out, "--label", "expanded", "--positive", "yes", "--id", "account_id", "--exclude", "churned", "--target", "expansion", "--budget", "20", "--out", dir]);
    expect(run.status).toBe(0);
    expect(existsSync(path.join(dir, "model.json"))).toBe(true);
    const artifact = JSON.parse(readFileSync(path.join(dir, "model.json"), "utf8")) as { target: string; version: string; readyThreshold: number; metrics: { auc: number }; features: { name: string }[] };
    expect(artifact.target).toBe("expansion");
    expect(artifact.version).toMatch(/^expansion-/);
    expect(artifact.readyThreshold).toBeGreaterThan(0);
    expect(artifact.readyThreshold).toBeLessThan(1);
    // logins drive expansion in this data; the model finds it on held-out accounts.
    expect(artifact.metrics.auc).toBeGreaterThan(0.7);
    expect(artifact.features.map((f) => f.name)).not.toContain("churned");
    // The CSM feedback columns are left out by default (scores never carry them), and say why.
    expect(artifact.features.map((f) => f.name)).not.toContain("csm_verdict");
    expect(run.stdout).toMatch(/csm_verdict\s+CSM feedback: scores never carry it/);
    // --use-feedback learns from them: a categorical signal when filled.
    const withFeedback = path.join(state, "expansion-feedback-model");
    const again = npm(["train", "--", "--data", out, "--label", "expanded", "--positive", "yes", "--id", "account_id", "--exclude", "churned", "--target", "expansion", "--use-feedback", "--budget", "5", "--out", withFeedback]);
    expect(again.status).toBe(0);
    const learnt = JSON.parse(readFileSync(path.join(withFeedback, "model.json"), "utf8")) as { features: { name: string }[] };
    expect(learnt.features.map((f) => f.name)).toContain("csm_verdict");
  });
});
