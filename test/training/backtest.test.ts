/** `npm run backtest` end to end on a small seeded event log: the table, the JSON line's fields, and errors naming the flag. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { addDays } from "../../shared/days";
import { mulberry32 } from "../../training/split";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "foresight-backtest-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 400 customers buying at their own rate until they drop out, over 15 months. */
function eventLog(): string {
  const random = mulberry32(3);
  const lines = ["customer,day,spend"];
  for (let c = 0; c < 400; c++) {
    const rate = 0.01 + random() * 0.08;
    const life = Math.floor(random() * 460);
    for (let d = Math.floor(random() * 60); d < Math.min(life, 455); d++) if (random() < rate) lines.push(`C${c},${addDays("2024-01-01", d)},${(5 + random() * 40).toFixed(2)}`);
  }
  return lines.join("\n");
}

function backtest(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [TSX, "training/cli/backtest.ts", ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe("npm run backtest", () => {
  it("prints the table and a last JSON line with the health, activity and timing figures", async () => {
    const events = join(dir, "events.csv");
    writeFileSync(events, eventLog());
    const r = await backtest(["--events", events, "--customer", "customer", "--date", "day", "--amount", "spend", "--budget", "1", "--calibration-end", "2024-08-31", "--holdout-end", "2025-03-20", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("| cutoff | accounts | forecast MAE | no-change MAE | straight-line MAE | 90% coverage | source |");
    const figures = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, Record<string, number>>;
    expect(Object.keys(figures.health).sort()).toEqual(["accounts", "baselineMae", "coverage90", "cutoffs", "mae", "trendBaselineMae"]);
    expect(Object.keys(figures.activity).sort()).toEqual(["actualTotal", "baselineMae", "baselineMsle", "mae", "msle", "total"]);
    expect(Object.keys(figures.timing).sort()).toEqual(["churners", "cutoffs", "flags", "medianLeadDays", "precision", "redRuleFlags", "redRuleMedianLeadDays", "redRulePrecision"]);
    expect(figures.health.cutoffs).toBeGreaterThan(3);
    // The timing half also flags at the last 90 days of cutoffs (3 of them, every 30 days): their churn labels are known, their health 90 days on is not.
    expect(figures.timing.cutoffs).toBe(figures.health.cutoffs + 3);
    expect(r.stdout).toMatch(new RegExp(`timing: ${figures.timing.cutoffs} cutoffs \\(`));
    for (const v of [...Object.values(figures.health), ...Object.values(figures.activity), ...Object.values(figures.timing)]) expect(Number.isFinite(v)).toBe(true);
    expect(figures.health.coverage90).toBeGreaterThan(0);
    expect(figures.health.coverage90).toBeLessThanOrEqual(1);
    expect(r.stderr).toContain("origin");
  }, 240_000);

  it("names the flag whose column is missing", async () => {
    const events = join(dir, "events.csv");
    const r = await backtest(["--events", events, "--customer", "client", "--date", "day"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--customer");
  });
});
