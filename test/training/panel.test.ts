/** `npm run snapshots -- --every N`: a panel of snapshots, each cutoff built from its own past only. */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../shared/csv";
import { buildPanel, PANEL_DATE, panelCutoffs } from "../../training/panel";
import { buildSnapshot } from "../../training/snapshots";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "foresight-panel-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOG = parseCsv(
  ["customer,day,spend", "a,2024-01-05,10", "a,2024-02-20,20", "a,2024-04-10,5", "b,2024-01-20,50", "b,2024-05-30,40", "c,2024-03-15,7", "a,2024-06-28,9", "c,2024-07-30,3"].join("\n"),
);
const options = { customer: "customer", date: "day", amount: "spend", cutoff: "2024-02-29", horizon: 30 };

describe("a panel of snapshots", () => {
  it("takes a cutoff every N days while the horizon fits in the log", () => {
    expect(panelCutoffs("2024-02-29", 30, 30, "2024-07-30")).toEqual(["2024-02-29", "2024-03-30", "2024-04-29", "2024-05-29", "2024-06-28"]);
  });

  it("stacks each cutoff's own snapshot, nothing after it, with an as_of column", () => {
    const panel = buildPanel(LOG, options, 30);
    expect(panel.header.slice(0, 2)).toEqual(["customer", PANEL_DATE]);
    for (const s of panel.snapshots) {
      const alone = buildSnapshot(LOG, { ...options, cutoff: s.summary.cutoff });
      const mine = panel.rows.filter((r) => r[1] === s.summary.cutoff).map((r) => [r[0], ...r.slice(2)]);
      expect(mine).toEqual(alone.rows);
    }
    // c first buys on 2024-03-15: absent from the first cutoff, present from the second.
    expect(panel.rows.filter((r) => r[0] === "c").map((r) => r[1])).toEqual(["2024-03-30", "2024-04-29", "2024-05-29", "2024-06-28"]);
  });

  it("is what `npm run snapshots -- --every 30` writes", async () => {
    const events = join(dir, "events.csv");
    const out = join(dir, "panel.csv");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(events, ["customer,day,spend", "a,2024-01-05,10", "a,2024-02-20,20", "a,2024-04-10,5", "b,2024-01-20,50", "b,2024-05-30,40", "c,2024-03-15,7", "a,2024-06-28,9", "c,2024-07-30,3"].join("\n"));
    const stderr = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [TSX, "training/cli/snapshots.ts", "--events", events, "--customer", "customer", "--date", "day", "--amount", "spend", "--cutoff", "2024-02-29", "--horizon", "30", "--every", "30", "--out", out], { cwd: ROOT }, (err, _o, e) =>
        err ? reject(new Error(e)) : resolve(e),
      ),
    );
    expect(stderr).toContain("panel: 5 cutoffs every 30 days from 2024-02-29");
    const written = parseCsv(readFileSync(out, "utf8"));
    const panel = buildPanel(LOG, options, 30);
    expect(written.header).toEqual(panel.header);
    expect(written.rows.length).toBe(panel.rows.length);
  });
});
