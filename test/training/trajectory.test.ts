/**
 * Health trajectories: the shared inputs (`trajectoryInputs`), the panel reader, and
 * `npm run train -- --target trajectory` end to end on a synthetic panel whose accounts drift
 * with known slopes (beats "no change", 90% intervals cover 80–97% of held-out cutoffs), with
 * the artifact parsed, forecast and published to a throwaway local stack by `publish-model`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchTrajectoryArtifact, verifyArtifact } from "../../shared/db/registry";
import { parseArtifact } from "../../shared/model/artifact";
import { Scorer } from "../../shared/model/scorer";
import { daysUntil, parseTrajectoryArtifact, type TrajectoryArtifact, trajectoryInputNames, trajectoryInputs, TrajectoryModel } from "../../shared/model/trajectory";
import { openLocalPlatform } from "../../training/platform";
import { readPanel } from "../../training/trajectory/panel";
import { syntheticPanel } from "../../training/trajectory/synthetic";
import { ROOT, runCli } from "./cli-run";

const tmp = mkdtempSync(path.join(tmpdir(), "foresight-trajectory-"));

describe("trajectoryInputs", () => {
  const signals = ["logins"];
  const healthHistory = [
    { date: "2026-01-01", health: 90 },
    { date: "2026-03-01", health: 70 },
    { date: "2026-03-30", health: 64 },
    { date: "2026-04-02", health: 60 },
    // After asOf: never read, so a whole history can be passed.
    { date: "2026-05-01", health: 0 },
  ];
  const signalHistory = [
    { date: "2026-01-30", signals: { logins: "20" } },
    { date: "2026-03-02", signals: { logins: 12 } },
  ];

  it("names its inputs in one fixed order", () => {
    expect(trajectoryInputNames(signals)).toEqual(["health", "health_change_30d", "health_change_90d", "days_to_renewal", "logins", "logins_change_30d", "logins_change_90d"]);
    expect(() => trajectoryInputNames(["a", "a"])).toThrow(/twice/);
  });

  it("reads changes from the point nearest 30 and 90 days back (±3 days), NaN when none is", () => {
    const x = trajectoryInputs(signals, { asOf: "2026-04-01", health: 58, signals: { logins: 8 }, daysToRenewal: daysUntil("2026-04-01", "2026-06-30"), healthHistory, signalHistory });
    // 30 days back is 03-02: 03-01 is 1 day off (03-30 is 28 off). 90 days back is 01-01: exact.
    // Signals: 03-02 for 30 days; 90 days back (01-01) has no snapshot within 3 days (01-30).
    expect(Array.from(x)).toEqual([58, 58 - 70, 58 - 90, 90, 8, 8 - 12, NaN]);
    const unknown = trajectoryInputs(signals, { asOf: "2026-02-15", health: 80, signals: {}, daysToRenewal: null, healthHistory, signalHistory });
    expect(Array.from(unknown)).toEqual([80, NaN, NaN, NaN, NaN, NaN, NaN]);
  });
});

describe("readPanel", () => {
  it("computes health with --health-model as round(100 × (1 − p)) of the churn model's score", async () => {
    const accounts = readFileSync(path.join(ROOT, "test/fixtures/saas-accounts.csv"), "utf8").trim().split("\n").slice(0, 21);
    const header = accounts[0].split(",").filter((c) => c !== "churned");
    const lines = [["as_of", ...header].join(",")];
    for (const week of [0, 7]) for (const line of accounts.slice(1)) lines.push([`2026-01-${String(5 + week).padStart(2, "0")}`, ...line.split(",").slice(0, header.length)].join(","));
    const file = path.join(tmp, "no-health.csv");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const dir = path.join(ROOT, "test/fixtures/saas-model");
    const panel = await readPanel({ data: file, healthModel: dir });
    const scorer = new Scorer(parseArtifact(JSON.parse(readFileSync(path.join(dir, "model.json"), "utf8"))));
    const first = Object.fromEntries(header.map((h, j) => [h, accounts[1].split(",")[j]]));
    expect(panel.health).toEqual({ source: "model", version: scorer.artifact.version });
    expect(panel.accounts[0].rows[0].health).toBe(Math.round(100 * (1 - scorer.probability(first))));
    expect(panel.signals).toEqual(["seats", "logins_30d", "tickets_90d", "nps"]);
    await expect(readPanel({ data: file })).rejects.toThrow(/--health-model/);
    const excluded = await readPanel({ data: file, healthModel: dir, exclude: ["nps"] });
    expect(excluded.signals).toEqual(["seats", "logins_30d", "tickets_90d"]);
    expect(excluded.ignored).toContainEqual({ name: "nps", reason: "excluded (--exclude)" });
  });

  it("refuses flags of the other targets and a panel too short to hold out by date", async () => {
    const mixed = await runCli("train", ["--target", "trajectory", "--data", "x.csv", "--out", tmp, "--label", "churned"]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain("--label: does not apply to --target trajectory");
    const short = path.join(tmp, "short.csv");
    writeFileSync(short, syntheticPanel({ accounts: 5, weeks: 12, seed: 1 }));
    const run = await runCli("train", ["--target", "trajectory", "--data", short, "--out", path.join(tmp, "never")]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/too few cutoffs with a health 30 days later/);
  });
});

describe("npm run train -- --target trajectory", () => {
  const panelFile = path.join(tmp, "panel.csv");
  const out = path.join(tmp, "model");
  let stdout = "";
  let artifact: TrajectoryArtifact;

  beforeAll(async () => {
    writeFileSync(panelFile, syntheticPanel({ accounts: 150, weeks: 70, seed: 7 }));
    const run = await runCli("train", ["--target", "trajectory", "--data", panelFile, "--out", out, "--budget", "30"]);
    stdout = run.stdout;
    expect(run.stderr).not.toContain("train:");
    expect(run.code).toBe(0);
    artifact = parseTrajectoryArtifact(JSON.parse(readFileSync(path.join(out, "model.json"), "utf8")));
  }, 120_000);

  it("prints per-horizon MAE against both baselines and the interval's coverage", () => {
    expect(stdout).toContain("Foresight trajectory model trajectory-");
    expect(stdout).toMatch(/MAE\s+no change\s+trend\s+interval\s+coverage/);
    for (const h of ["30 d", "60 d", "90 d"]) expect(stdout).toContain(h);
    expect(stdout).toContain("ignored  plan (not numeric");
  });

  it("beats no change where accounts drift, and covers 80–97% of held-out cutoffs", () => {
    const horizons = artifact.metrics.horizons as { days: number; mae: number; maeNoChange: number; maeTrend: number; coverage: number; split: { holdout: number } }[];
    expect(horizons.map((h) => h.days)).toEqual([30, 60, 90]);
    for (const h of horizons) {
      expect(h.split.holdout).toBeGreaterThan(500);
      expect(h.mae).toBeLessThan(0.9 * h.maeNoChange);
      expect(h.mae).toBeLessThan(h.maeTrend);
      expect(h.coverage).toBeGreaterThanOrEqual(0.8);
      expect(h.coverage).toBeLessThanOrEqual(0.97);
    }
    // The further ahead, the more drift there is to see.
    expect(horizons[2].maeNoChange - horizons[2].mae).toBeGreaterThan(horizons[0].maeNoChange - horizons[0].mae);
  });

  it("round-trips: model.json parses, only as a trajectory artifact, and forecasts from the shared inputs", async () => {
    expect(readFileSync(path.join(out, "model.json.sha256"), "utf8")).toMatch(/^[0-9a-f]{64} {2}model\.json\n$/);
    expect(artifact.inputs).toEqual(trajectoryInputNames(["logins_30d", "tickets_30d"]));
    expect(() => parseArtifact(artifact)).toThrow(/not a Foresight model/);
    expect(() => parseTrajectoryArtifact(JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/telco-model/model.json"), "utf8")))).toThrow(/not a Foresight trajectory model/);
    // Health points throughout: written as format 1, which builds that read only 1 still take.
    expect(artifact.formatVersion).toBe(1);
    expect(() => parseTrajectoryArtifact({ ...artifact, formatVersion: 3 })).toThrow(/format version/);
    expect(() => parseTrajectoryArtifact({ ...artifact, inputs: artifact.inputs.slice(1) })).toThrow(/inputs/);

    // A declining account's path, the way the Worker will hold it: weekly health and signal snapshots.
    const model = TrajectoryModel.fromJSON(readFileSync(path.join(out, "model.json"), "utf8"));
    const weeks = Array.from({ length: 14 }, (_, w) => ({ date: new Date(Date.UTC(2026, 0, 5 + 7 * w)).toISOString().slice(0, 10), health: Math.round(80 - 0.15 * 7 * w) }));
    const signalHistory = weeks.map((p) => ({ date: p.date, signals: { logins_30d: 20 + 0.3 * (p.health - 60) - 9, tickets_30d: 4 } }));
    const now = weeks[weeks.length - 1];
    const x = trajectoryInputs(model.signals, { asOf: now.date, health: now.health, signals: signalHistory[signalHistory.length - 1].signals, daysToRenewal: 200, healthHistory: weeks, signalHistory });
    const forecast = model.forecast(x);
    expect(forecast.map((f) => f.days)).toEqual([30, 60, 90]);
    for (const f of forecast) {
      expect(0 <= f.lower && f.lower <= f.health && f.health <= f.upper && f.upper <= 100).toBe(true);
    }
    expect(forecast[0].health).toBeLessThan(now.health);
    expect(forecast[2].health).toBeLessThan(forecast[0].health);
    expect(() => model.forecast(x.subarray(1))).toThrow(RangeError);
  });

  describe("publish-model", () => {
    const state = path.join(tmp, "state");

    beforeAll(() => {
      execFileSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: ROOT, stdio: "ignore", env: { ...process.env, CI: "true" } });
    }, 60_000);

    afterAll(() => {
      delete process.env.FORESIGHT_STATE_DIR;
    });

    it("stores it in R2 and registers and activates it as target trajectory, family gbdt", async () => {
      const run = spawnSync("npm", ["run", "--silent", "publish-model", "--", "--model", out, "--local", "--activate"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, FORESIGHT_STATE_DIR: state } });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(`published ${artifact.version}`);
      expect(run.stdout).toContain("status active");
      process.env.FORESIGHT_STATE_DIR = state;
      const platform = await openLocalPlatform();
      try {
        const row = await platform.env.DB.prepare("SELECT version, target, family, r2_key AS r2Key, sha256, status FROM models").first<{ version: string; target: string; family: string; r2Key: string; sha256: string; status: string }>();
        expect(row).toMatchObject({ version: artifact.version, target: "trajectory", family: "gbdt", status: "active" });
        const fetched = await fetchTrajectoryArtifact(platform.env, row!);
        expect(fetched.version).toBe(artifact.version);
        expect(await verifyArtifact(platform.env, row!)).toMatchObject({ target: "trajectory", family: "gbdt" });
      } finally {
        await platform.dispose();
      }
    }, 60_000);
  });
});
