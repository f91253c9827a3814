/**
 * The forecast's per-account rules, in Node: calendar quarters from today, renewal dates on their
 * schedule, the renewal-aware churn probability per window (a renewal inside the score's horizon,
 * one beyond it, none), the portfolio rates, expansion scaling, and the scenarios' levers.
 */
import { describe, expect, it } from "vitest";
import { addDays } from "../../../shared/days";
import { accountHazards, DEFAULT_EXPANSION_SHARE, type ForecastAccount, type HazardContext, nextRenewal, portfolioRates, quarterWindows, subsetHazards } from "../../../workers/forecast/hazards";
import { quarterShare, withLevers } from "../../../workers/forecast/scenarios";

const TODAY = "2026-11-20";
const ctx: HazardContext = { horizonDays: 90, expansionHorizonDays: 90, observedExpansionArrRate: null, observedExpansionShare: null };
const account = (o: Partial<ForecastAccount> & { id: string }): ForecastAccount => ({
  arr: 10_000,
  churnProbability: 0.1,
  scoredAt: TODAY,
  renewalDate: null,
  expansionProbability: null,
  expansionSource: null,
  tier: "green",
  health90: null,
  ...o,
});

describe("forecast windows and renewal dates", () => {
  it("starts with the rest of the current calendar quarter, then whole quarters", () => {
    expect(quarterWindows("2026-11-20", 3)).toEqual([
      { start: "2026-11-20", end: "2026-12-31" },
      { start: "2027-01-01", end: "2027-03-31" },
      { start: "2027-04-01", end: "2027-06-30" },
    ]);
    expect(quarterWindows("2028-02-29", 1)).toEqual([{ start: "2028-02-29", end: "2028-03-31" }]);
    expect(quarterWindows("2026-12-31", 2)[1]).toEqual({ start: "2027-01-01", end: "2027-03-31" });
  });

  it("steps a stored renewal date by whole terms to the first one on or after a day", () => {
    expect(nextRenewal("2027-09-23", "2026-06-24")).toBe("2026-09-23");
    expect(nextRenewal("2026-06-24", "2026-06-24")).toBe("2026-06-24");
    expect(nextRenewal("2026-06-23", "2026-06-24")).toBe("2027-06-23");
    expect(nextRenewal(null, "2026-06-24")).toBeNull();
  });

  it("gives the share of its calendar quarter a window covers", () => {
    expect(quarterShare({ start: "2027-01-01", end: "2027-03-31" })).toBe(1);
    expect(quarterShare({ start: "2026-11-20", end: "2026-12-31" })).toBeCloseTo(42 / 92, 12);
  });
});

describe("the renewal-aware churn probability", () => {
  const windows = quarterWindows(TODAY, 3);
  const days = windows.map((w) => Math.round((Date.parse(w.end) - Date.parse(w.start)) / 86_400_000) + 1);

  it("churns at a renewal inside the score's horizon with the score's probability, and not otherwise without a mid-term rate", () => {
    const h = accountHazards([account({ id: "near", churnProbability: 0.3, renewalDate: addDays(TODAY, 20) })], windows, ctx, false);
    expect(h.rates.midTermHazard).toBeNull();
    expect(h.churn[0]).toBeCloseTo(0.3, 12);
    expect([h.churn[1], h.churn[2]]).toEqual([0, 0]);
    expect(Array.from(h.due)).toEqual([1, 0, 0]);
  });

  it("churns without a renewal in its horizon at its own mid-term hazard, and at a later renewal with the larger of its probability and the renewal churn rate", () => {
    const far = account({ id: "far", churnProbability: 0.05, renewalDate: addDays(TODAY, 100) });
    const alone = accountHazards([far], windows, ctx, false);
    const hazard = -Math.log(0.95) / 90;
    expect(alone.churn[0]).toBeCloseTo(1 - Math.exp(-hazard * days[0]), 12);
    // Day 100 falls in the second window: too few accounts for a renewal churn rate, so its own 0.05 is carried.
    expect(alone.churn[1]).toBeCloseTo(1 - Math.exp(-hazard * days[1]) * 0.95, 12);
    // With 20 accounts renewing inside their horizon at 0.2 (ARR-weighted), the later renewal churns with 0.2.
    const near = Array.from({ length: 20 }, (_, i) => account({ id: `n${i}`, churnProbability: 0.2, renewalDate: addDays(TODAY, 10) }));
    const withRate = accountHazards([far, ...near], windows, ctx, false);
    expect(withRate.rates.renewalChurnRate).toBeCloseTo(0.2, 12);
    expect(withRate.churn[1]).toBeCloseTo(1 - Math.exp(-hazard * days[1]) * 0.8, 12);
  });

  it("gives accounts whose horizon holds a renewal the portfolio's mid-term hazard between renewals, and takes it off their renewal probability", () => {
    const far = Array.from({ length: 20 }, (_, i) => account({ id: `f${i}`, churnProbability: 0.02, renewalDate: addDays(TODAY, 200) }));
    const near = account({ id: "near", churnProbability: 0.3, renewalDate: addDays(TODAY, 20) });
    const h = accountHazards([near, ...far], windows, ctx, false);
    const lambda = -Math.log(0.98) / 90;
    expect(h.rates.midTermHazard).toBeCloseTo(lambda * 365, 12);
    const atRenewal = 1 - 0.7 * Math.exp(lambda * 90);
    expect(h.churn[0]).toBeCloseTo(1 - Math.exp(-lambda * days[0]) * (1 - atRenewal), 12);
    expect(h.churn[1]).toBeCloseTo(1 - Math.exp(-lambda * days[1]), 12);
  });

  it("uses the trajectory's 90-day health for a renewal it reaches when a trajectory model is active", () => {
    const a = account({ id: "t", churnProbability: 0.01, renewalDate: addDays(TODAY, 120), health90: 70 });
    const lambda = -Math.log(0.99) / 90;
    expect(accountHazards([a], windows, ctx, true).churn[1]).toBeCloseTo(1 - Math.exp(-lambda * days[1]) * 0.7, 12);
    expect(accountHazards([a], windows, ctx, false).churn[1]).toBeCloseTo(1 - Math.exp(-lambda * days[1]) * 0.99, 12);
  });

  it("churns an account with no renewal date at its own hazard throughout", () => {
    const h = accountHazards([account({ id: "x", churnProbability: 0.1 })], windows, ctx, false);
    windows.forEach((_, j) => expect(h.churn[j]).toBeCloseTo(1 - 0.9 ** (days[j] / 90), 12));
    expect(Array.from(h.due)).toEqual([0, 0, 0]);
  });
});

describe("expansion", () => {
  const windows = quarterWindows(TODAY, 2);
  it("scales a model's probability to the window and sizes an expansion at the default share without history", () => {
    const h = accountHazards([account({ id: "m", arr: 50_000, expansionProbability: 0.3, expansionSource: "model" })], windows, ctx, false);
    expect(h.expand[1]).toBeCloseTo(1 - 0.7 ** (90 / 90), 12);
    expect(h.size[0]).toBe(DEFAULT_EXPANSION_SHARE * 50_000);
    expect(h.rates.expansionShareSource).toBe("default");
  });

  it("scales scorecard readiness so the expected expansion ARR a year matches the observed rate", () => {
    const accounts = [account({ id: "a", arr: 10_000, expansionProbability: 0.5, expansionSource: "scorecard" }), account({ id: "b", arr: 30_000, expansionProbability: 0.2, expansionSource: "scorecard" })];
    const rates = portfolioRates(accounts, { ...ctx, observedExpansionArrRate: 0.1, observedExpansionShare: 0.25 });
    // Σ scale × readiness × 0.25 × ARR = 0.1 × 40,000.
    expect(rates.readinessScale! * (0.5 * 0.25 * 10_000 + 0.2 * 0.25 * 30_000)).toBeCloseTo(4_000, 9);
    expect(rates.expansionShare).toBe(0.25);
  });
});

describe("scenario levers", () => {
  const windows = quarterWindows(TODAY, 2);
  const accounts = [
    account({ id: "red", tier: "red", churnProbability: 0.8, renewalDate: addDays(TODAY, 5) }),
    account({ id: "blue", tier: "blue", churnProbability: 0.02, expansionProbability: 0.1, expansionSource: "model" }),
    account({ id: "yellow", tier: "yellow", churnProbability: 0.5, renewalDate: addDays(TODAY, 5) }),
  ];
  const h = accountHazards(accounts, windows, ctx, false);
  const tiers = accounts.map((a) => a.tier);

  it("saves a share of red (and yellow) churn, converts blue at a rate per quarter, and multiplies", () => {
    const saved = withLevers(h, tiers, windows, { saveRedShare: 0.5 });
    expect(saved.churn[0]).toBeCloseTo(0.4, 12);
    expect(saved.churn[4]).toBe(h.churn[4]);
    expect(withLevers(h, tiers, windows, { saveYellowShare: 1 }).churn[4]).toBe(0);
    const converted = withLevers(h, tiers, windows, { expansionConversion: 0.3 });
    expect(converted.expand[3]).toBeCloseTo(0.3, 12);
    expect(converted.expand[2]).toBeCloseTo(1 - 0.7 ** quarterShare(windows[0]), 12);
    expect(withLevers(h, tiers, windows, { churnMultiplier: 2 }).churn[0]).toBe(1);
    expect(h.churn[0]).toBe(0.8); // the baseline is untouched
  });

  it("takes a sub-portfolio's rows with the portfolio's rates", () => {
    const sub = subsetHazards(h, [2, 0]);
    expect(Array.from(sub.churn)).toEqual([h.churn[4], h.churn[5], h.churn[0], h.churn[1]]);
    expect(sub.rates).toBe(h.rates);
  });
});
