/**
 * The activity forecast: BG/NBD's maths on small known cases, its fit and figures on CDNOW
 * against the anchors (../shared/docs/anchors.md, "Forecasting future activity and health"),
 * and the shipped forecast against BG/NBD and the no-change run rate on the canonical split.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { type Csv, parseCsv } from "../../shared/csv";
import { UsageError } from "../../training/errors";
import { activityBacktest, activityErrors, activityMethods, DEFAULT_METHOD } from "../../training/forecast/activity";
import {
  type BgNbdParams,
  bgNbdDistribution,
  bgNbdExpected,
  bgNbdLogLikelihood,
  bgNbdNewCustomerExpected,
  bgNbdPAlive,
  fitBgNbd,
  type PurchaseSummary,
  summarizePurchases,
} from "../../training/forecast/bg-nbd";
import { checkSplit, type EventLog, eventDay, readEventLog } from "../../training/event-log";
import { leastSquares } from "../../training/forecast/least-squares";
import { nelderMead } from "../../training/forecast/nelder-mead";
import { hyp2f1, lnGamma, lnHyp2f1 } from "../../training/forecast/special";
import { isoDay } from "../../training/dates";
import { mulberry32 } from "../../training/split";

const CDNOW = fileURLToPath(new URL("../../training/data/cdnow.csv", import.meta.url));
const ANCHOR: BgNbdParams = { r: 0.252, alpha: 4.789, a: 0.723, b: 2.161 };
const CANONICAL = { calibrationEnd: "1997-09-30", holdoutEnd: "1998-06-30" };

describe("special functions", () => {
  it("ln Γ matches factorials and Γ(1/2) = √π", () => {
    expect(lnGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(lnGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    expect(lnGamma(0)).toBeNaN();
  });

  it("2F1 by series matches closed forms", () => {
    for (const z of [0.1, 0.5, 0.9, -0.7]) expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 12);
    expect(hyp2f1(0.5, 0.5, 1.5, 0.25)).toBeCloseTo(Math.asin(0.5) / 0.5, 12);
    expect(hyp2f1(2.5, 0.7, 0.7, 0.6)).toBeCloseTo((1 - 0.6) ** -2.5, 12);
    // A negative c (BG/NBD's a + b − 1 when a + b < 1) against Euler's transformation.
    const [a, b, c, z] = [0.3, 0.5, -0.3, 0.4];
    expect(hyp2f1(a, b, c, z)).toBeCloseTo((1 - z) ** (c - a - b) * hyp2f1(c - a, c - b, c, z), 10);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(RangeError);
  });

  it("ln 2F1 agrees with the series and survives values beyond double range", () => {
    expect(lnHyp2f1(1.3, 2.2, 3.1, 0.8)).toBeCloseTo(Math.log(hyp2f1(1.3, 2.2, 3.1, 0.8)), 12);
    expect(lnHyp2f1(1000, 3, 3, 0.9)).toBeCloseTo(-1000 * Math.log(0.1), 8); // (1 − z)^−a = 1e1000
    expect(lnHyp2f1(2, 3, 4, 0)).toBe(0);
  });
});

describe("optimisation helpers", () => {
  it("Nelder–Mead finds Rosenbrock's minimum, deterministically", () => {
    const rosenbrock = ([x, y]: number[]) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
    const first = nelderMead(rosenbrock, [-1.2, 1]);
    expect(first.x[0]).toBeCloseTo(1, 5);
    expect(first.x[1]).toBeCloseTo(1, 5);
    expect(nelderMead(rosenbrock, [-1.2, 1])).toEqual(first);
  });

  it("least squares recovers an exact line", () => {
    const w = leastSquares([[1, 0], [1, 1], [1, 2], [1, 3]], [1, 3, 5, 7]);
    expect(w[0]).toBeCloseTo(1, 6);
    expect(w[1]).toBeCloseTo(2, 6);
  });
});

describe("BG/NBD on small cases", () => {
  it("summarises purchase days, merging same-day purchases and ignoring later ones", () => {
    expect(summarizePurchases([0, 0, 7, 21, 40], 28)).toEqual({ x: 2, tx: 3, T: 4 });
    expect(summarizePurchases([14, 14], 28)).toEqual({ x: 0, tx: 0, T: 2 });
    expect(summarizePurchases([30], 28)).toBeNull();
  });

  it("a customer with no repeat purchase is alive for sure, and the closed form equals the distribution's mean", () => {
    const none: PurchaseSummary = { x: 0, tx: 0, T: 30 };
    expect(bgNbdPAlive(ANCHOR, none)).toBe(1);
    const pmf = bgNbdDistribution(ANCHOR, none, 39);
    expect(pmf.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 9);
    expect(pmf.reduce((s, p, y) => s + p * y, 0)).toBeCloseTo(bgNbdExpected(ANCHOR, none, 39), 7);
  });

  it("the distribution's mean matches FHL eq. 10 for buyers light and heavy, and for a + b < 1", () => {
    const cases: PurchaseSummary[] = [
      { x: 1, tx: 2, T: 38 },
      { x: 5, tx: 35, T: 36 },
      { x: 5, tx: 5, T: 36 }, // long silent: likely gone
      { x: 60, tx: 38, T: 38.5 },
    ];
    for (const params of [ANCHOR, { r: 0.5, alpha: 3, a: 0.3, b: 0.4 }]) {
      for (const c of [...cases, { x: 0, tx: 0, T: 10 }]) {
        const mean = bgNbdDistribution(params, c, 39).reduce((s, p, y) => s + p * y, 0);
        expect(mean).toBeCloseTo(bgNbdExpected(params, c, 39), 5);
      }
    }
    expect(bgNbdPAlive(ANCHOR, cases[1])).toBeGreaterThan(bgNbdPAlive(ANCHOR, cases[2]));
  });

  it("a customer just acquired: the conditional forecast is the new-customer curve, and matches simulation", () => {
    const params = { r: 2, alpha: 5, a: 2, b: 3 };
    const fresh = { x: 0, tx: 0, T: 0 };
    expect(bgNbdExpected(params, fresh, 20)).toBeCloseTo(bgNbdNewCustomerExpected(params, 20), 10);
    // Simulate the generative story: λ ~ Gamma(r, α), p ~ Beta(a, b), Poisson purchases while alive.
    const random = mulberry32(7);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const gamma = (shape: number) => {
      // Marsaglia–Tsang, shape ≥ 1.
      const d = shape - 1 / 3;
      for (;;) {
        const n = normal();
        const v = (1 + n / Math.sqrt(9 * d)) ** 3;
        if (v > 0 && Math.log(random()) < 0.5 * n * n + d - d * v + d * Math.log(v)) return d * v;
      }
    };
    const counts = new Array<number>(50).fill(0);
    const draws = 20_000;
    for (let i = 0; i < draws; i++) {
      const lambda = gamma(params.r) / params.alpha;
      const g1 = gamma(params.a);
      const p = g1 / (g1 + gamma(params.b));
      let time = 0;
      let n = 0;
      for (;;) {
        time += -Math.log(1 - random()) / lambda;
        if (time > 20) break;
        n++;
        if (random() < p) break;
      }
      counts[Math.min(n, 49)]++;
    }
    const pmf = bgNbdDistribution(params, fresh, 20);
    for (let y = 0; y < 4; y++) expect(Math.abs(counts[y] / draws - pmf[y])).toBeLessThan(0.012);
  });

  it("the log-likelihood refuses non-positive parameters", () => {
    expect(bgNbdLogLikelihood({ ...ANCHOR, a: 0 }, [{ x: 1, tx: 1, T: 2 }])).toBeNaN();
  });
});

describe("event logs", () => {
  const log = (rows: string[][]): Csv => ({ header: ["id", "day", "spend"], rows });

  it("reads YYYY-MM-DD and YYYYMMDD alike", () => {
    expect(eventDay("19970101")).toBe(isoDay("1997-01-01"));
    expect(eventDay("19970230")).toBeNaN();
    const read = readEventLog(log([["a", "19970101", "1"], ["a", "1997-01-01", ""], ["b", "19970105", "2"]]), { customer: "id", date: "day", amount: "spend" });
    expect(read.customers.get("a")?.days).toEqual([isoDay("1997-01-01"), isoDay("1997-01-01")]);
    expect(read.customers.get("a")?.amounts[1]).toBeNaN();
  });

  it("names the flag or row at fault", () => {
    expect(() => readEventLog(log([["a", "1/1/1997", "1"]]), { customer: "id", date: "day" })).toThrow(/row 2: "day" is "1\/1\/1997"/);
    expect(() => readEventLog(log([["a", "19970101", "1"]]), { customer: "who", date: "day" })).toThrow(UsageError);
    const read = readEventLog(log([["a", "1997-01-01", "1"], ["a", "1997-03-01", "1"]]), { customer: "id", date: "day" });
    expect(() => checkSplit(read, "1997-02-01", "1997-04-01")).toThrow(/--holdout-end: the holdout .* runs past/);
    expect(() => checkSplit(read, "1997-02-01", "1997-01-15")).toThrow(/--holdout-end/);
  });
});

describe("the activity backtest on a synthetic log", () => {
  it("counts distinct holdout days and the run rate as defined", () => {
    // 300 customers from day 0..27 of 1997, buying every `gap` days; the split at day 111.
    const start = isoDay("1997-01-01");
    const rows: string[][] = [];
    const iso = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);
    const random = mulberry32(3);
    for (let i = 0; i < 300; i++) {
      const first = start + (i % 28);
      const gap = 5 + Math.floor(random() * 60);
      const stop = first + Math.floor(random() * 400);
      for (let d = first; d <= Math.min(stop, start + 222); d += gap) rows.push([`c${i}`, iso(d), "10"], [`c${i}`, iso(d), "5"]);
    }
    const csv: Csv = { header: ["id", "day", "spend"], rows };
    const split = { calibrationEnd: iso(start + 111), holdoutEnd: iso(start + 222) };
    const events: EventLog = readEventLog(csv, { customer: "id", date: "day", amount: "spend" });
    const result = activityBacktest(events, split);
    let actual = 0;
    const runRate: number[] = [];
    const actuals: number[] = [];
    for (const { days } of events.customers.values()) {
      const s = summarizePurchases(days, start + 111) as PurchaseSummary;
      const n = new Set(days.filter((d) => d > start + 111)).size;
      actual += n;
      actuals.push(n);
      runRate.push((s.x / s.T) * (111 / 7));
    }
    expect(result.actualTotal).toBe(actual);
    const baseline = activityErrors(runRate, actuals);
    expect(result.baselineMae).toBeCloseTo(baseline.mae, 12);
    expect(result.baselineMsle).toBeCloseTo(baseline.msle, 12);
    expect(Number.isFinite(result.mae) && Number.isFinite(result.total)).toBe(true);
    expect(() => activityBacktest(csv, split)).toThrow(/--customer: missing/);
  });
});

describe("CDNOW: BG/NBD and the shipped forecast against the anchors", () => {
  let events: EventLog;
  let customers: PurchaseSummary[];
  beforeAll(() => {
    events = readEventLog(parseCsv(readFileSync(CDNOW, "utf8")), { customer: "customer_id", date: "date", amount: "dollar_value" });
    customers = [...events.customers.values()].map((c) => summarizePurchases(c.days, isoDay(CANONICAL.calibrationEnd)) as PurchaseSummary);
  });

  it("the maximum-likelihood fit reproduces r 0.252, α 4.789, a 0.723, b 2.161", () => {
    expect(customers).toHaveLength(23_570);
    const { params } = fitBgNbd(customers);
    expect(params.r).toBeCloseTo(0.252, 3);
    expect(params.alpha).toBeCloseTo(4.789, 3);
    expect(params.a).toBeCloseTo(0.723, 3);
    expect(params.b).toBeCloseTo(2.161, 3);
  });

  it("on the canonical split: BG/NBD 0.819 / 0.243 (total 16,874 of 19,684), run rate 1.038 / 0.399, ours better than both", () => {
    const all = activityMethods(events, CANONICAL, ["bg-nbd-point", "bg-nbd"]);
    const bg = all["bg-nbd"];
    const ours = all[DEFAULT_METHOD];
    if (!bg || !ours) throw new Error("missing figures");
    expect(bg.mae).toBeCloseTo(0.819, 3);
    expect(bg.msle).toBeCloseTo(0.243, 3);
    expect(Math.round(bg.total)).toBe(16_874);
    expect(bg.actualTotal).toBe(19_684);
    expect(bg.baselineMae).toBeCloseTo(1.038, 3);
    expect(bg.baselineMsle).toBeCloseTo(0.399, 3);
    // The targets: BG/NBD's figures and the run rate's.
    expect(ours.mae).toBeLessThanOrEqual(0.819);
    expect(ours.msle).toBeLessThanOrEqual(0.243);
    expect(ours.mae).toBeLessThan(ours.baselineMae);
    expect(ours.msle).toBeLessThan(ours.baselineMsle);
    expect(ours.mae).toBeCloseTo(0.7712, 4);
    expect(ours.msle).toBeCloseTo(0.241, 3);
  });

  it("the choice, made inside the calibration period: the point beats BG/NBD's mean on both validations", () => {
    const expected = {
      "1997-06-30": { point: [0.3521, 0.1115], mean: [0.3956, 0.1199] },
      "1997-03-31": { point: [0.7801, 0.25], mean: [0.8908, 0.2933] },
    };
    for (const [from, figures] of Object.entries(expected)) {
      const all = activityMethods(events, { calibrationEnd: from, holdoutEnd: "1997-09-30" }, ["bg-nbd-point", "bg-nbd"]);
      const point = all["bg-nbd-point"];
      const mean = all["bg-nbd"];
      if (!point || !mean) throw new Error("missing figures");
      expect([point.mae, point.msle].map((v) => Number(v.toFixed(4)))).toEqual(figures.point);
      expect([mean.mae, mean.msle].map((v) => Number(v.toFixed(4)))).toEqual(figures.mean);
      expect(point.mae).toBeLessThan(mean.mae);
      expect(point.msle).toBeLessThan(mean.msle);
    }
  });
});
