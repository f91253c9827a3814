/**
 * `npm run export-training -- --target trajectory` against a throwaway local D1: every signal
 * snapshot with the health of the latest score made by its day, and the panel trains a
 * trajectory model with `npm run train -- --target trajectory`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvRecords, parseCsv } from "../../shared/csv";
import { addDays } from "../../shared/days";
import { bulkDatedSnapshotStatements } from "../../shared/db/accounts";
import { type LocalPlatform, openLocalPlatform } from "../../training/platform";

const root = path.resolve(import.meta.dirname, "../..");
let state: string;
let platform: LocalPlatform | undefined;
const START = "2026-01-05";
const WEEKS = 70;
const ACCOUNTS = 60;

function npm(args: string[]) {
  return spawnSync("npm", ["run", "--silent", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORESIGHT_STATE_DIR: state } });
}

beforeAll(async () => {
  state = mkdtempSync(path.join(tmpdir(), "foresight-export-trajectory-"));
  execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
  process.env.FORESIGHT_STATE_DIR = state;
  platform = await openLocalPlatform();
  const d1 = platform.env.DB;
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `TX-${String(i).padStart(2, "0")}`);
  await d1.batch(ids.map((id) => d1.prepare("INSERT INTO accounts (id, renewal_date, features) VALUES (?1, '2027-06-01', '{}')").bind(id)));
  // Weekly snapshots; health falls 1 point a week for half the accounts, and is scored the day after each snapshot but one.
  const snapshots = ids.flatMap((id, a) => Array.from({ length: WEEKS }, (_, w) => ({ accountId: id, asOf: addDays(START, 7 * w), features: { logins_30d: 20 - (a % 2 ? w / 4 : 0), tickets: w % 3 } })));
  for (const stmt of bulkDatedSnapshotStatements(d1, snapshots)) await stmt.run();
  const scores = ids.flatMap((id, a) =>
    Array.from({ length: WEEKS }, (_, w) => ({ id, at: `${addDays(START, 7 * w)}T08:00:00.000Z`, health: 80 - (a % 2 ? w : 0) })).filter((_, w) => w !== 5),
  );
  for (let i = 0; i < scores.length; i += 50) {
    await d1.batch(
      scores.slice(i, i + 50).map((s) =>
        d1.prepare("INSERT INTO scores (account_id, model_version, churn_probability, risk_tier, drivers, imputed, source, scored_at, health) VALUES (?1, 'v', ?2, 'green', '[]', '[]', 'test', ?3, ?4)").bind(s.id, 1 - s.health / 100, s.at, s.health),
      ),
    );
  }
  await platform.dispose();
  platform = undefined;
}, 120_000);

afterAll(async () => {
  await platform?.dispose();
});

describe("export-training --target trajectory", () => {
  it("writes each snapshot with the health scored by its day, and that panel trains a trajectory model", () => {
    const out = path.join(state, "panel.csv");
    const res = npm(["export-training", "--", "--target", "trajectory", "--out", out]);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain(`${ACCOUNTS * WEEKS} snapshots of ${ACCOUNTS} accounts`);
    const csv = parseCsv(readFileSync(out, "utf8"));
    expect(csv.header.slice(0, 4)).toEqual(["account_id", "as_of", "health", "renewal_date"]);
    const rows = csvRecords(csv);
    const falling = rows.filter((r) => r.account_id === "TX-01");
    expect(falling.map((r) => Number(r.health)).slice(0, 5)).toEqual([80, 79, 78, 77, 76]);
    // Week 5 had no score of its own: the latest before it (week 4's) stands.
    expect(Number(falling[5].health)).toBe(76);
    expect(res.stdout).toContain("npm run train -- --target trajectory");

    const model = path.join(state, "trajectory-model");
    const trained = npm(["train", "--", "--target", "trajectory", "--data", out, "--budget", "2", "--out", model]);
    expect(trained.status, trained.stderr).toBe(0);
    expect(existsSync(path.join(model, "model.json"))).toBe(true);
  });

  it("refuses --as-of with --target trajectory, naming it", () => {
    const res = npm(["export-training", "--", "--target", "trajectory", "--as-of", "2026-03-01", "--out", path.join(state, "x.csv")]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("--as-of");
  });
});
