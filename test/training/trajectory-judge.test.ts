/**
 * trainTrajectory with `judge: false` (for the backtest, which judges the model itself): on a
 * panel too short for the purged three-way split (which refuses it) it still trains, with a
 * conformal interval per horizon calibrated on the newest cutoffs.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TrajectoryModel } from "../../shared/model/trajectory";
import { trainTrajectory } from "../../training/trajectory";
import { syntheticPanel } from "../../training/trajectory/synthetic";

const dir = mkdtempSync(path.join(tmpdir(), "foresight-judge-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("trainTrajectory({ judge: false })", () => {
  it("trains on a panel too short to hold out by date, with a conformal interval per horizon", async () => {
    const file = path.join(dir, "short.csv");
    writeFileSync(file, syntheticPanel({ accounts: 120, weeks: 30, seed: 4 }));
    await expect(trainTrajectory({ data: file, budget: 2 })).rejects.toThrow(/too few cutoffs/);
    const { artifact } = await trainTrajectory({ data: file, budget: 2, judge: false });
    expect(artifact.horizons.map((h) => h.days)).toEqual([30, 60, 90]);
    for (const h of artifact.horizons) expect(h.interval.method).toBe("conformal");
    const model = new TrajectoryModel(artifact);
    expect(model.signals.length).toBeGreaterThan(0);
  }, 120_000);
});
