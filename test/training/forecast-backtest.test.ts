/**
 * The revenue forecast's backtest on a throwaway local D1 holding a small synthetic history whose
 * truth is known here: weekly scores whose churn probability is each account's true chance at its
 * renewal inside 90 days (a token 1e-6 otherwise), churns drawn with that chance, expansions on
 * known days. The backtest must replay it from what was known at each origin (ARR then, the
 * renewal then, churned accounts gone), find what happened in each window, and report coverage;
 * `npm run backtest -- --forecast` prints it, stores σ with --save-shock and refuses --events.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ForecastBacktest, forecastBacktest } from "../../training/backtest/forecast";
import { SIGMAS } from "../../training/backtest/forecast-calibrate";
import { type LocalPlatform, openLocalPlatform } from "../../training/platform";
import { mulberry32 } from "../../training/split";
import { d1Rows } from "../../workers/forecast/history";
import { ROOT } from "./cli-run";

const FIRST = "2026-01-05";
const WEEKS = 40;
const plus = (day: string, n: number) => new Date(Date.parse(day) + n * 86_400_000).toISOString().slice(0, 10);
const LAST = plus(FIRST, 7 * (WEEKS - 1));

interface Truth {
  id: string;
  owner: string;
  startArr: number;
  q: number;
  renewal: string;
  churnedOn: string | null;
  expansions: { date: string; amount: number }[];
}

/** 150 accounts; each renews once in the year from FIRST and churns there with its q. */
function history(): Truth[] {
  const random = mulberry32(12);
  return Array.from({ length: 150 }, (_, i) => {
    const renewal = plus(FIRST, (i * 37) % 365);
    const q = 0.05 + (0.3 * ((i * 7) % 11)) / 10;
    const churnedOn = renewal <= LAST && random() < q ? renewal : null;
    const expansions = i % 4 === 0 ? [{ date: plus(FIRST, 20 + ((i * 13) % 240)), amount: 2_000 }].filter((e) => e.date <= LAST && (churnedOn === null || e.date < churnedOn)) : [];
    return { id: `BT-${String(i).padStart(3, "0")}`, owner: ["o1", "o2", "o3"][i % 3], startArr: 10_000 + 1_000 * (i % 50), q, renewal, churnedOn, expansions };
  });
}

const truth = history();

/** Inserts rows (their keys are the columns) in one statement through json_each, with constant columns beside them. */
async function insertJson(d1: D1Database, table: string, rows: Record<string, unknown>[], constants: Record<string, string>): Promise<void> {
  const cols = Object.keys(rows[0]);
  const sql = `INSERT INTO ${table} (${[...cols, ...Object.keys(constants)].join(", ")}) SELECT ${[...cols.map((c) => `json_extract(value, '$.${c}')`), ...Object.values(constants)].join(", ")} FROM json_each(?1)`;
  await d1.prepare(sql).bind(JSON.stringify(rows)).run();
}
const arrOn = (t: Truth, day: string) => t.startArr + t.expansions.filter((e) => e.date < day).reduce((s, e) => s + e.amount, 0);
const state = mkdtempSync(path.join(tmpdir(), "foresight-forecast-bt-"));
let platform: LocalPlatform | undefined;
let bt: ForecastBacktest;

beforeAll(async () => {
  execFileSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: ROOT, stdio: "ignore", env: { ...process.env, CI: "true" } });
  process.env.FORESIGHT_STATE_DIR = state;
  platform = await openLocalPlatform();
  const d1 = platform.env.DB;
  const scoreRows = truth.flatMap((t) =>
    Array.from({ length: WEEKS }, (_, k) => plus(FIRST, 7 * k))
      .filter((day) => t.churnedOn === null || day <= t.churnedOn)
      .map((day) => {
        const next = day <= t.renewal ? t.renewal : plus(t.renewal, 365);
        const p = Date.parse(next) - Date.parse(day) <= 90 * 86_400_000 ? t.q : 1e-6;
        return { account_id: t.id, churn_probability: p, scored_at: `${day}T12:00:00.000Z` };
      }),
  );
  await insertJson(d1, "scores", scoreRows, { model_version: "'bt'", risk_tier: "'green'", tier: "'green'", drivers: "'[]'", imputed: "'[]'", source: "'test'", expansion_probability: "0.2", expansion_source: "'scorecard'" });
  await insertJson(
    d1,
    "accounts",
    truth.map((t) => ({ id: t.id, owner: t.owner, arr: arrOn(t, "9999-12-31"), renewal_date: t.churnedOn ?? (t.renewal <= LAST ? plus(t.renewal, 365) : t.renewal) })),
    { features: "'{}'" },
  );
  const events = truth.flatMap((t) => [
    ...(t.churnedOn ? [{ account_id: t.id, type: "churned", date: t.churnedOn, amount: null }] : t.renewal <= LAST ? [{ account_id: t.id, type: "renewed", date: t.renewal, amount: arrOn(t, t.renewal) }] : []),
    ...t.expansions.map((e) => ({ account_id: t.id, type: "expanded", date: e.date, amount: e.amount })),
  ]);
  await insertJson(d1, "outcomes", events, {});
  bt = await forecastBacktest(d1Rows(platform.env.DB), { horizonDays: 90, expansionHorizonDays: 90, trajectoryActive: false, draws: 1000 });
}, 120_000);

afterAll(async () => {
  await platform?.dispose();
  delete process.env.FORESIGHT_STATE_DIR;
});

describe("the forecast backtest on a known history", () => {
  it("replays rolling quarter-long windows every 28 days and the calendar quarters that have ended", () => {
    expect([bt.from, bt.to]).toEqual([FIRST, LAST]);
    expect(bt.rolling.map((j) => j.origin)).toEqual(Array.from({ length: 7 }, (_, k) => plus(FIRST, 28 * k)));
    expect(bt.rolling.every((j) => j.end === plus(j.origin, 90))).toBe(true);
    expect(bt.quarters.map((j) => `${j.origin} ${j.start}..${j.end} ${j.ahead}`)).toEqual([
      "2026-04-01 2026-04-01..2026-06-30 1",
      "2026-04-01 2026-07-01..2026-09-30 2",
      "2026-07-01 2026-07-01..2026-09-30 1",
    ]);
    expect(bt.groups.map((g) => g.group)).toEqual(bt.rolling.flatMap(() => ["o1", "o2", "o3"]));
  });

  it("forecasts each window from what was known at its origin and judges it by what happened", () => {
    for (const j of bt.rolling) {
      const alive = truth.filter((t) => t.churnedOn === null || t.churnedOn >= j.origin);
      expect(j.accounts).toBe(alive.length);
      expect(j.arr).toBe(alive.reduce((s, t) => s + arrOn(t, j.origin), 0));
      const churned = alive.filter((t) => t.churnedOn !== null && t.churnedOn <= j.end).reduce((s, t) => s + arrOn(t, j.origin), 0);
      const expanded = alive.flatMap((t) => t.expansions).filter((e) => e.date >= j.origin && e.date <= j.end).reduce((s, e) => s + e.amount, 0);
      expect(j.actual).toEqual({ churnedArr: churned, expansionArr: expanded });
      // The scores say each renewal in the window churns with its q: that, plus a token mid-term hazard, is the expectation.
      const renewing = alive.filter((t) => {
        const r = t.renewal >= j.origin ? t.renewal : plus(t.renewal, 365);
        return r <= j.end;
      });
      const expected = renewing.reduce((s, t) => s + arrOn(t, j.origin) * t.q, 0);
      expect(Math.abs(j.forecast.fitted.churnedArr.expected - expected) / expected, j.origin).toBeLessThan(0.01);
      expect(j.forecast.independent.churnedArr.expected).toBeCloseTo(j.forecast.fitted.churnedArr.expected, 6);
    }
  });

  it("judges each window with a σ fitted on windows that do not overlap it, and reports coverage of both figures", () => {
    for (const j of [...bt.rolling, ...bt.groups]) {
      expect(SIGMAS).toContain(j.shock.churn);
      expect(SIGMAS).toContain(j.shock.expansion);
    }
    expect(SIGMAS).toContain(bt.calibrated.churn);
    const c = bt.coverage.rolling.fitted;
    expect(c.figures).toBe(14);
    const inside = (f: { p80: [number, number] }, y: number) => f.p80[0] <= y && y <= f.p80[1];
    expect(c.churnedArr.p80).toBe(bt.rolling.filter((j) => inside(j.forecast.fitted.churnedArr, j.actual.churnedArr)).length / 7);
    expect(c.p90).toBeGreaterThanOrEqual(c.p80);
    expect(bt.coverage.groups.fitted.figures).toBe(42);
    // The scores are the truth here: the churn forecast's error is sampling noise, well under half.
    expect(bt.error.churnedArr.mape).toBeLessThan(0.5);
  });
});

describe("npm run backtest -- --forecast", () => {
  const backtest = (...args: string[]) => spawnSync("npm", ["run", "--silent", "backtest", "--", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, FORESIGHT_STATE_DIR: state } });

  it("prints the coverage and the windows, ends with the figures as JSON, and stores σ with --save-shock", async () => {
    const run = backtest("--forecast", "--d1", "--draws", "500", "--save-shock", "--json");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("interval coverage");
    expect(run.stdout).toContain("| rolling windows (whole portfolio) | 14 |");
    const figures = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ForecastBacktest;
    expect(figures.rolling).toHaveLength(7);
    const stored = await platform!.env.DB.prepare("SELECT value FROM settings WHERE key = 'forecast.shock'").first<{ value: string }>();
    expect(JSON.parse(stored!.value)).toMatchObject({ churn: figures.calibrated.churn, expansion: figures.calibrated.expansion, windows: 7 });
  }, 120_000);

  it("refuses an event log and bad numbers, naming the flag", () => {
    const events = backtest("--forecast", "--events", "training/data/cdnow.csv");
    expect(events.status).toBe(2);
    expect(events.stderr).toContain("--events");
    const every = backtest("--forecast", "--every", "0");
    expect(every.status).toBe(2);
    expect(every.stderr).toContain("--every");
  });
});
