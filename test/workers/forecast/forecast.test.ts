/**
 * `GET /v1/forecast` and `POST /v1/forecast/scenarios` with real D1: a hand-checkable portfolio
 * (accounts with known probabilities and renewals in known quarters, written as the scoring
 * writes them) whose expected figures are worked out here in closed form; a wide one whose
 * interval is a binomial's without a shock and wider with one; what-ifs that move the expected
 * figures by the amounts the levers say; and bad input as 422 problems naming the field. The
 * shock is set as `npm run backtest -- --forecast --save-shock` stores it (`settings`).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { accounts, outcomes, scores, settings } from "../../../shared/db/schema";
import { chunkForInsert, db } from "../../../shared/db/write";
import type { z } from "zod";
import type { Forecast, Scenarios } from "../../../workers/forecast/schemas";
import { call, createKey, problemOf } from "../helpers";

type ForecastBody = z.infer<typeof Forecast>;
type ScenariosBody = z.infer<typeof Scenarios>;

const DAY = 86_400_000;
const today = new Date().toISOString().slice(0, 10);
const plus = (day: string, n: number) => new Date(Date.parse(day) + n * DAY).toISOString().slice(0, 10);
const span = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / DAY) + 1;
/** The last day of the calendar quarter holding `day`. */
function quarterEnd(day: string): string {
  const y = Number(day.slice(0, 4));
  const m = Number(day.slice(5, 7));
  const lastMonth = m + ((3 - (m % 3)) % 3);
  return new Date(Date.UTC(y, lastMonth, 0)).toISOString().slice(0, 10);
}
/** The first day of the calendar quarter holding `day`. */
function quarterStart(day: string): string {
  const m = Number(day.slice(5, 7));
  return `${day.slice(0, 4)}-${String(m - ((m - 1) % 3)).padStart(2, "0")}-01`;
}
const windows = (() => {
  const out: { start: string; end: string }[] = [];
  let start = today;
  for (let q = 0; q < 3; q++) {
    out.push({ start, end: quarterEnd(start) });
    start = plus(quarterEnd(start), 1);
  }
  return out;
})();
const windowOf = (day: string) => windows.findIndex((w) => w.start <= day && day <= w.end);

interface Hand {
  id: string;
  arr: number;
  p: number;
  renewal: string | null;
  tier: string;
  expansion: number | null;
}
// Scored today by a churn model with the default 90-day horizon (no model is active here).
const HAND: Hand[] = [
  { id: "FC-A", arr: 100_000, p: 0.2, renewal: today, tier: "yellow", expansion: 0.1 },
  { id: "FC-B", arr: 50_000, p: 0.1, renewal: plus(today, 120), tier: "green", expansion: null },
  { id: "FC-C", arr: 20_000, p: 0.05, renewal: null, tier: "green", expansion: null },
  { id: "FC-D", arr: 80_000, p: 0.75, renewal: plus(today, 30), tier: "red", expansion: null },
  { id: "FC-E", arr: 40_000, p: 0.02, renewal: plus(today, 200), tier: "blue", expansion: 0.1 },
];
const WIDE = Array.from({ length: 200 }, (_, i) => ({ id: `FC-W${String(i).padStart(3, "0")}`, arr: 10_000, p: 0.1 }));

/**
 * The closed form with no shock. Renewals inside the 90-day horizon (A today, D at +30, the 200
 * wide accounts today) churn with their probability; the ARR-weighted mean of those, 0.128, is
 * the renewal churn rate B's and E's later renewals churn with (it beats their own 0.1 and 0.02);
 * B, C and E (no renewal in their horizon) churn mid-term at −ln(1 − p) / 90 a day; A and D have
 * no mid-term hazard (fewer than 20 accounts give the portfolio's). Expansions (A, E: a trained
 * model's 0.1 over 90 days) add 20% of ARR.
 */
const RENEWAL_RATE = (100_000 * 0.2 + 80_000 * 0.75 + 200 * 10_000 * 0.1) / (100_000 + 80_000 + 200 * 10_000);
function handHazards(levers: { saveRed?: number; blueConverts?: number } = {}) {
  return HAND.map((a) => {
    const near = a.renewal !== null && a.renewal <= plus(today, 90);
    const lambda = near ? 0 : -Math.log(1 - a.p) / 90;
    const churn = windows.map((w, j) => {
      let stay = Math.exp(-lambda * span(w.start, w.end));
      if (a.renewal !== null && windowOf(a.renewal) === j) stay *= 1 - (near ? a.p : Math.max(a.p, RENEWAL_RATE));
      return (1 - stay) * (a.tier === "red" ? 1 - (levers.saveRed ?? 0) : 1);
    });
    const expand = windows.map((w) => {
      // "Per quarter": the current quarter's rest gets its share of it.
      if (a.tier === "blue" && levers.blueConverts !== undefined) return 1 - (1 - levers.blueConverts) ** (span(w.start, w.end) / span(quarterStart(w.end), w.end));
      return a.expansion === null ? 0 : 1 - (1 - a.expansion) ** (span(w.start, w.end) / 90);
    });
    return { ...a, churn, expand, due: windows.map((_, j) => (a.renewal !== null && windowOf(a.renewal) === j ? 1 : 0)) };
  });
}
function closedForm(levers: Parameters<typeof handHazards>[0] = {}) {
  const hz = handHazards(levers);
  let start = HAND.reduce((s, a) => s + a.arr, 0);
  return windows.map((_, j) => {
    const alive = hz.map((a) => a.churn.slice(0, j).reduce((s, h) => s * (1 - h), 1));
    const churned = hz.reduce((s, a, i) => s + a.arr * alive[i] * a.churn[j], 0);
    const expansion = hz.reduce((s, a, i) => s + 0.2 * a.arr * alive[i] * a.expand[j], 0);
    const out = {
      churned,
      expansion,
      grr: 1 - churned / start,
      nrr: 1 + (expansion - churned) / start,
      dueCount: hz.reduce((s, a, i) => s + a.due[j] * alive[i], 0),
      dueArr: hz.reduce((s, a, i) => s + a.due[j] * a.arr * alive[i], 0),
      contributions: hz.map((a, i) => ({ id: a.id, churn: a.arr * alive[i] * a.churn[j] })),
    };
    start += expansion - churned;
    return out;
  });
}

let key: string;

async function setShock(churn: number, expansion: number) {
  const value = { churn, expansion, calibratedAt: "2026-01-01T00:00:00.000Z" };
  await db(env.DB).insert(settings).values({ key: "forecast.shock", value }).onConflictDoUpdate({ target: settings.key, set: { value } });
}

async function forecast(query: string): Promise<ForecastBody> {
  const res = await call("GET", `/v1/forecast${query}`, { key });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<ForecastBody>();
}

const relative = (got: number, want: number) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);

beforeAll(async () => {
  key = await createKey(["score"]);
  const d = db(env.DB);
  expect((await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())!.n).toBe(0); // the closed form assumes only these accounts
  const rows = [
    ...HAND.map((a) => ({ ...a, owner: "fc-hand" })),
    ...WIDE.map((a) => ({ ...a, owner: "fc-wide", renewal: today, tier: "green", expansion: null })),
    { id: "FC-GONE", arr: 1_000_000, p: 0.9, renewal: today, tier: "red", expansion: null, owner: "fc-hand" },
  ];
  const at = new Date().toISOString();
  for (const chunk of chunkForInsert(rows, 12)) {
    const ids = await d
      .insert(scores)
      .values(chunk.map((r) => ({ accountId: r.id, modelVersion: "fc-test", churnProbability: r.p, riskTier: r.tier === "blue" ? "green" : r.tier, tier: r.tier, drivers: [], imputed: [], source: "test", scoredAt: at, expansionProbability: r.expansion, expansionSource: r.expansion === null ? null : "model" })))
      .returning({ id: scores.id });
    await d.insert(accounts).values(
      chunk.map((r, i) => ({ id: r.id, name: `Account ${r.id}`, arr: r.arr, owner: r.owner, renewalDate: r.renewal, features: {}, scoreId: ids[i].id, churnProbability: r.p, riskTier: r.tier === "blue" ? "green" : r.tier, tier: r.tier, expansionProbability: r.expansion, scoredAt: at })),
    );
  }
  // Left out: one that churned yesterday, one never scored.
  await d.insert(outcomes).values({ accountId: "FC-GONE", type: "churned", date: plus(today, -1) });
  await d.insert(accounts).values({ id: "FC-NEW", arr: 5_000, owner: "fc-hand", features: {} });
});

describe("GET /v1/forecast", () => {
  it("matches the closed-form sums on a hand-checkable portfolio without a shock", async () => {
    await setShock(0, 0);
    const f = await forecast("?quarters=3&owner=fc-hand");
    const want = closedForm();
    expect(f.owner).toBe("fc-hand");
    expect(f.method).toMatchObject({ accounts: 5, arr: 290_000, excluded: { unscored: 1, withoutArr: 0 }, churnHorizonDays: 90, contractTermDays: 365, midTermHazardPerYear: null, trajectory: false, shock: { churn: 0, expansion: 0, source: "backtest" } });
    expect(f.method.renewalChurnRate).toBeCloseTo(RENEWAL_RATE, 12);
    expect(f.quarters.map((q) => ({ start: q.start, end: q.end }))).toEqual(windows);
    f.quarters.forEach((q, j) => {
      expect(relative(q.churnedArr.expected, want[j].churned), `churned ARR, quarter ${j + 1}`).toBeLessThan(1e-9);
      expect(relative(q.expansionArr.expected, want[j].expansion), `expansion ARR, quarter ${j + 1}`).toBeLessThan(1e-9);
      expect(q.grr.expected).toBeCloseTo(want[j].grr, 10);
      expect(q.nrr.expected).toBeCloseTo(want[j].nrr, 10);
      expect(q.renewalsDue.count.expected).toBeCloseTo(want[j].dueCount, 10);
      expect(q.renewalsDue.arr.expected).toBeCloseTo(want[j].dueArr, 6);
      for (const fig of [q.churnedArr, q.expansionArr, q.grr, q.nrr]) {
        expect(fig.p90[0]).toBeLessThanOrEqual(fig.p80[0]);
        expect(fig.p80[1]).toBeLessThanOrEqual(fig.p90[1]);
      }
      const order = [...want[j].contributions].filter((c) => c.churn > 0).sort((a, b) => b.churn - a.churn).map((c) => c.id);
      expect(q.topAccounts.churn.map((a) => a.id)).toEqual(order);
      expect(q.topAccounts.churn[0]).toMatchObject({ name: `Account ${order[0]}`, owner: "fc-hand" });
      expect(q.topAccounts.expansion.map((a) => a.id).sort()).toEqual(["FC-A", "FC-E"]);
    });
    // The churned account (ARR 1M) is nowhere: not in the ARR, not a top account.
    expect(JSON.stringify(f)).not.toContain("FC-GONE");
  });

  it("keeps the expected values under the shared shock and widens the intervals", async () => {
    await setShock(0, 0);
    const flat = await forecast("?quarters=1&owner=fc-wide");
    await setShock(0.8, 0.8);
    const shocked = await forecast("?quarters=1&owner=fc-wide");
    const hand = await forecast("?quarters=3&owner=fc-hand");
    // 200 accounts of $10K renewing today at 0.1: without a shock, a binomial's 5% and 95% points (13 and 27 churns).
    const [q] = flat.quarters;
    expect(q.churnedArr.expected).toBeCloseTo(200_000, 4);
    expect(q.churnedArr.p90[0]).toBeGreaterThanOrEqual(110_000);
    expect(q.churnedArr.p90[0]).toBeLessThanOrEqual(150_000);
    expect(q.churnedArr.p90[1]).toBeGreaterThanOrEqual(250_000);
    expect(q.churnedArr.p90[1]).toBeLessThanOrEqual(290_000);
    const [s] = shocked.quarters;
    expect(relative(s.churnedArr.expected, 200_000)).toBeLessThan(1e-5);
    expect(s.churnedArr.p90[1] - s.churnedArr.p90[0]).toBeGreaterThan(1.5 * (q.churnedArr.p90[1] - q.churnedArr.p90[0]));
    expect(s.churnedArr.p80[1] - s.churnedArr.p80[0]).toBeGreaterThan(1.5 * (q.churnedArr.p80[1] - q.churnedArr.p80[0]));
    expect(shocked.method.shock).toMatchObject({ churn: 0.8, expansion: 0.8, source: "backtest" });
    // The first quarter's expectations stay the closed form's under the shock.
    const want = closedForm();
    expect(relative(hand.quarters[0].churnedArr.expected, want[0].churned)).toBeLessThan(1e-5);
    expect(relative(hand.quarters[0].expansionArr.expected, want[0].expansion)).toBeLessThan(1e-5);
  });

  it("is the same all day for the same D1 state, and covers every account without an owner filter", async () => {
    await setShock(0.3, 0.3);
    const a = await forecast("?quarters=2");
    const b = await forecast("?quarters=2");
    expect(b.quarters).toEqual(a.quarters);
    expect(a.method.simulation.seed).toBe(b.method.simulation.seed);
    expect(a.method.accounts).toBe(205);
    expect(a.method.arr).toBe(290_000 + 2_000_000);
    expect(a.quarters).toHaveLength(2);
    expect((await forecast("")).quarters).toHaveLength(4);
    // An owner with no active accounts gets an empty forecast, not an error.
    const none = await forecast("?owner=nobody&quarters=1");
    expect(none.method.accounts).toBe(0);
    expect(none.quarters[0].churnedArr).toEqual({ expected: 0, p80: [0, 0], p90: [0, 0] });
    expect(none.quarters[0].grr.expected).toBe(1);
  });

  it("refuses bad input with a 422 naming the field, and needs a key with the score or ingest scope", async () => {
    for (const q of ["0", "9", "2.5", "abc", ""]) {
      const res = await call("GET", `/v1/forecast?quarters=${q}`, { key });
      expect(res.status, q).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["query.quarters"]);
    }
    const long = await call("GET", `/v1/forecast?owner=${"x".repeat(201)}`, { key });
    expect((await problemOf(long)).errors?.map((e) => e.field)).toEqual(["query.owner"]);
    expect((await call("GET", "/v1/forecast")).status).toBe(401);
    expect((await call("GET", "/v1/forecast", { key: await createKey(["banner"]) })).status).toBe(403);
    expect((await call("GET", "/v1/forecast", { key: await createKey(["ingest"]) })).status).toBe(200);
  });
});

describe("POST /v1/forecast/scenarios", () => {
  it("moves the expected figures by what the levers say, against the same baseline as GET", async () => {
    await setShock(0, 0);
    const res = await call("POST", "/v1/forecast/scenarios", {
      key,
      body: {
        quarters: 3,
        owner: "fc-hand",
        scenarios: [
          { name: "save half of red ARR", saveRedShare: 0.5 },
          { name: "expansion readiness converts at 30%", expansionConversion: 0.3 },
          { name: "churn doubles", churnMultiplier: 2 },
        ],
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const s = await res.json<ScenariosBody>();
    const get = await forecast("?quarters=3&owner=fc-hand");
    expect(s.baseline.quarters).toEqual(get.quarters);
    const base = closedForm();
    const [save, convert, double] = s.scenarios;
    expect(save.levers).toEqual({ saveRedShare: 0.5 });

    // Saving half of red: FC-D (red, $80K, 0.75 at its renewal in the quarter holding today + 30) churns with 0.375.
    const d = windowOf(plus(today, 30));
    save.difference.forEach((q, j) => {
      expect(q.churnedArr.expected).toBeCloseTo(j === d ? -0.5 * 0.75 * 80_000 : 0, 6);
      expect(q.churnedArr.p90[1]).toBeLessThanOrEqual(1e-9); // paired draws: saving never adds a churn
      expect(q.expansionArr.expected).toBeCloseTo(0, 6);
    });
    expect(save.quarters[d].churnedArr.expected).toBeCloseTo(base[d].churned - 30_000, 6);

    // Conversion at 30% a quarter: FC-E (blue) expands with 0.3 instead of its model's 0.1 a quarter.
    const converted = closedForm({ blueConverts: 0.3 });
    convert.difference.forEach((q, j) => {
      expect(q.expansionArr.expected).toBeCloseTo(converted[j].expansion - base[j].expansion, 6);
      expect(q.expansionArr.expected).toBeGreaterThan(0);
      expect(q.churnedArr.expected).toBeCloseTo(0, 6);
    });

    // Doubling churn: more churned ARR in the first quarter, by Σ ARR × (min(1, 2p) − p).
    const first = handHazards().reduce((sum, a) => sum + a.arr * (Math.min(1, 2 * a.churn[0]) - a.churn[0]), 0);
    expect(double.difference[0].churnedArr.expected).toBeCloseTo(first, 6);
    expect(double.difference[0].grr.expected).toBeLessThan(0);
  });

  it("refuses bad scenarios with a 422 naming each field", async () => {
    const cases: [unknown, string[]][] = [
      [{}, ["scenarios"]],
      [{ scenarios: [] }, ["scenarios"]],
      [{ scenarios: [{ name: "nothing" }] }, ["scenarios[0]"]],
      [{ scenarios: [{ saveRedShare: 0.5 }] }, ["scenarios[0].name"]],
      [{ scenarios: [{ name: "x", saveRedShare: 1.5 }] }, ["scenarios[0].saveRedShare"]],
      [{ scenarios: [{ name: "x", expansionConversion: -0.1 }] }, ["scenarios[0].expansionConversion"]],
      [{ scenarios: [{ name: "x", churnMultiplier: 11 }] }, ["scenarios[0].churnMultiplier"]],
      [{ scenarios: [{ name: "x", saveRedshare: 0.5 }] }, ["scenarios[0]"]],
      [{ scenarios: [{ name: "x", saveRedShare: 0.5 }, { name: "x", churnMultiplier: 2 }] }, ["scenarios[1].name"]],
      [{ quarters: 9, scenarios: [{ name: "x", saveRedShare: 0.5 }] }, ["quarters"]],
      [{ scenarios: Array.from({ length: 11 }, (_, i) => ({ name: `s${i}`, churnMultiplier: 1 })) }, ["scenarios"]],
    ];
    for (const [body, fields] of cases) {
      const res = await call("POST", "/v1/forecast/scenarios", { key, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field), JSON.stringify(body)).toEqual(fields);
    }
    expect((await call("POST", "/v1/forecast/scenarios", { key, raw: "{not json" })).status).toBe(400);
  });
});

describe("the forecast in the OpenAPI document", () => {
  it("lists both routes with bearer security", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>();
    expect(doc.paths["/v1/forecast"].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/v1/forecast/scenarios"].post.security).toEqual([{ bearer: [] }]);
  });
});
