/**
 * trainTrajectory with `judge: false` (for the backtest, which judges the model itself): on a
 * panel too short for the purged three-way split (which refuses it) it still trains, cross-fitted
 * by account on the log-odds scale with a conformalised quantile interval per horizon, and its
 * forecasts hold up on cutoffs it never saw. Also the pieces: the newest-cutoffs window and the
 * log-odds scale of the shared model.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../shared/csv";
import { fromScale, parseTrajectoryArtifact, toScale, TrajectoryModel, trajectoryInputs } from "../../shared/model/trajectory";
import { trainTrajectory } from "../../training/trajectory";
import { newestPairs, type Pairs } from "../../training/trajectory/pairs";
import { syntheticPanel } from "../../training/trajectory/synthetic";

const dir = mkdtempSync(path.join(tmpdir(), "foresight-judge-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("trainTrajectory({ judge: false })", () => {
  it("trains on a panel too short to hold out by date, and forecasts later cutoffs better than no change", async () => {
    // 44 weeks of 240 accounts; the model sees the first 31 (rows up to week 30), and is judged
    // from week 30 on the health 13 weeks (91 days) later.
    const csv = parseCsv(syntheticPanel({ accounts: 240, weeks: 44, seed: 4 }));
    const at = (name: string) => csv.header.indexOf(name);
    const dates = [...new Set(csv.rows.map((r) => r[at("as_of")]))].sort();
    const [origin, later] = [dates[30], dates[43]];
    const file = path.join(dir, "short.csv");
    writeFileSync(file, [csv.header.join(","), ...csv.rows.filter((r) => r[at("as_of")] <= origin).map((r) => r.join(","))].join("\n"));
    await expect(trainTrajectory({ data: file, budget: 2 })).rejects.toThrow(/too few cutoffs/);

    const { artifact } = await trainTrajectory({ data: file, budget: 2, judge: false });
    expect(artifact.horizons.map((h) => h.days)).toEqual([30, 60, 90]);
    for (const h of artifact.horizons) {
      expect(h.scale).toBe("log-odds");
      expect(h.interval.method).toBe("quantile");
    }
    // Its figures say what was cross-fitted: the 90-day pairs are the fewest (their targets must be known).
    const fits = artifact.metrics.crossFitted as { days: number; pairs: number; outOfFoldMae: number }[];
    expect(fits.map((f) => f.days)).toEqual([30, 60, 90]);
    expect(fits[2].pairs).toBeLessThan(fits[0].pairs);
    for (const f of fits) expect(f.outOfFoldMae).toBeGreaterThan(0);
    const model = new TrajectoryModel(parseTrajectoryArtifact(JSON.parse(JSON.stringify(artifact))));

    let error = 0;
    let noChange = 0;
    let covered = 0;
    const ids = [...new Set(csv.rows.map((r) => r[at("account_id")]))];
    for (const id of ids) {
      const rows = csv.rows.filter((r) => r[at("account_id")] === id && r[at("as_of")] <= origin);
      const now = rows[rows.length - 1];
      const actual = Number(csv.rows.find((r) => r[at("account_id")] === id && r[at("as_of")] === later)![at("health")]);
      const x = trajectoryInputs(model.signals, {
        asOf: origin,
        health: Number(now[at("health")]),
        signals: { logins_30d: Number(now[at("logins_30d")]), tickets_30d: Number(now[at("tickets_30d")]) },
        daysToRenewal: (Date.parse(now[at("renewal_date")]) - Date.parse(origin)) / 86_400_000,
        healthHistory: rows.map((r) => ({ date: r[at("as_of")], health: Number(r[at("health")]) })),
        signalHistory: rows.map((r) => ({ date: r[at("as_of")], signals: { logins_30d: Number(r[at("logins_30d")]), tickets_30d: Number(r[at("tickets_30d")]) } })),
      });
      const forecast = model.forecast(x);
      for (const f of forecast) expect(0 <= f.lower && f.lower <= f.health && f.health <= f.upper && f.upper <= 100).toBe(true);
      const far = forecast[2];
      error += Math.abs(far.health - actual);
      noChange += Math.abs(Number(now[at("health")]) - actual);
      covered += far.lower <= actual && actual <= far.upper ? 1 : 0;
    }
    expect(error).toBeLessThan(0.8 * noChange);
    expect(covered / ids.length).toBeGreaterThanOrEqual(0.75);
    expect(covered / ids.length).toBeLessThanOrEqual(0.98);
  }, 120_000);
});

describe("newestPairs", () => {
  const pairs = (cutoffs: number[]): Pairs => ({
    days: 30,
    row: Int32Array.from(cutoffs, (_, i) => i),
    account: Int32Array.from(cutoffs, (_, i) => i),
    cutoff: Int32Array.from(cutoffs),
    targetDay: Int32Array.from(cutoffs, (c) => c + 30),
    target: Float64Array.from(cutoffs, () => 50),
  });

  it("takes whole cutoffs, newest first, while they fit in the limit", () => {
    const p = pairs([10, 10, 20, 20, 20, 30, 30]);
    expect([...newestPairs(p, 5)]).toEqual([2, 3, 4, 5, 6]);
    expect([...newestPairs(p, 4)]).toEqual([5, 6]);
    expect([...newestPairs(p, 100)]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("always keeps the newest cutoff, even past the limit", () => {
    expect([...newestPairs(pairs([10, 30, 30, 30]), 2)]).toEqual([1, 2, 3]);
  });
});

describe("the log-odds scale", () => {
  it("maps 0–100 onto the log-odds of (health + 0.5) / 101 and back", () => {
    expect(toScale(50, "log-odds")).toBeCloseTo(0, 12);
    for (const h of [0, 1, 29, 50, 99, 100]) expect(fromScale(toScale(h, "log-odds"), "log-odds")).toBeCloseTo(h, 9);
    // A step of one log-odds moves health far less near the bounds than in the middle.
    const step = (h: number) => fromScale(toScale(h, "log-odds") - 1, "log-odds") - h;
    expect(Math.abs(step(50))).toBeGreaterThan(4 * Math.abs(step(3)));
    expect(toScale(42)).toBe(42);
    expect(fromScale(42, "points")).toBe(42);
  });

  it("is written as format 2, and refused when unknown or labelled format 1", async () => {
    const file = path.join(dir, "scale.csv");
    writeFileSync(file, syntheticPanel({ accounts: 40, weeks: 20, seed: 5 }));
    const { artifact } = await trainTrajectory({ data: file, budget: 1, judge: false });
    expect(artifact.formatVersion).toBe(2);
    expect(() => parseTrajectoryArtifact(JSON.parse(JSON.stringify(artifact)))).not.toThrow();
    const bad = { ...artifact, horizons: artifact.horizons.map((h) => ({ ...h, scale: "logit" })) };
    expect(() => parseTrajectoryArtifact(bad)).toThrow(/scale "logit"/);
    expect(() => parseTrajectoryArtifact({ ...artifact, formatVersion: 1 })).toThrow(/needs version 2/);
  }, 60_000);
});
