/**
 * The revenue forecast's maths, in Node: the mean-preserving shock, the simulation's expectations
 * against its own draws (plain Monte Carlo and the normal approximation), the two agreeing on
 * intervals, and the coverage of the shared-shock model's intervals on portfolios simulated from
 * that model (and what independent accounts would cover there).
 */
import { describe, expect, it } from "vitest";
import type { Hazards } from "../../../workers/forecast/hazards";
import { matchedLogit } from "../../../workers/forecast/shock";
import { figureOf, quantile, seededUniform, simulate } from "../../../workers/forecast/simulate";

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A standard normal by Box–Muller from `u`. */
const gauss = (u: () => number) => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());

/** A portfolio of one window: ARR and churn/expansion probabilities per account. */
function portfolio(arr: number[], churn: number[], expand: number[] = churn.map(() => 0), windows = 1): Hazards {
  const n = arr.length;
  const rep = (xs: number[]) => Float64Array.from(xs.flatMap((x) => Array.from({ length: windows }, () => x)));
  return {
    accounts: n,
    windows,
    arr: Float64Array.from(arr),
    size: Float64Array.from(arr.map((a) => 0.2 * a)),
    churn: rep(churn),
    expand: rep(expand),
    due: new Uint8Array(n * windows),
    rates: { midTermHazard: null, renewalChurnRate: null, readinessScale: null, expansionShare: 0.2, expansionShareSource: "default" },
  };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: ArrayLike<number>) => {
  const m = mean(xs);
  return Math.sqrt(mean(Array.from(xs, (x) => (x - m) ** 2)));
};

describe("the mean-preserving shock", () => {
  it("shifts each probability's log-odds so that its mean over the shock stays the probability", () => {
    const u = seededUniform(7);
    const z = Array.from({ length: 200_000 }, () => gauss(u));
    for (const sigma of [0.2, 0.6, 1.2]) {
      for (const p of [0.001, 0.03, 0.2, 0.5, 0.9]) {
        const l = matchedLogit(p, sigma);
        const m = mean(z.map((x) => sigmoid(l + sigma * x)));
        // Monte Carlo over 200,000 shocks: the standard error of the mean is below 0.3% of p here.
        expect(Math.abs(m - p) / p, `p ${p}, σ ${sigma}`).toBeLessThan(0.012);
        if (p < 0.5) expect(l).toBeLessThan(Math.log(p / (1 - p)));
      }
    }
    expect(matchedLogit(0.3, 0)).toBeCloseTo(Math.log(0.3 / 0.7), 12);
    expect(matchedLogit(0, 0.5)).toBe(-Infinity);
    expect(matchedLogit(1, 0.5)).toBe(Infinity);
  });
});

describe("the simulation", () => {
  const u = seededUniform(11);
  const n = 400;
  const arr = Array.from({ length: n }, () => Math.round(5_000 * Math.exp(1.2 * gauss(u))));
  const churn = Array.from({ length: n }, () => 0.02 + 0.3 * u() ** 2);
  const expand = Array.from({ length: n }, () => 0.1 * u());
  const h = portfolio(arr, churn, expand, 3);
  const closedForm = arr.reduce((s, a, i) => s + a * churn[i], 0);

  it("has the closed-form expectation without a shock, and its draws average to it", () => {
    const sim = simulate(h, { draws: 4000, seed: 1, shock: { churn: 0, expansion: 0 }, exactAccounts: n });
    expect(sim.expected[0].churnedArr).toBeCloseTo(closedForm, 6);
    // Window 2: each account must have survived window 1.
    expect(sim.expected[1].churnedArr).toBeCloseTo(arr.reduce((s, a, i) => s + a * (1 - churn[i]) * churn[i], 0), 6);
    expect(sim.expected[0].expansionArr).toBeCloseTo(arr.reduce((s, a, i) => s + 0.2 * a * expand[i], 0), 6);
    const draws = sim.draws[0].churnedArr;
    expect(Math.abs(mean(draws) - closedForm)).toBeLessThan((4 * sd(draws)) / Math.sqrt(draws.length));
  });

  it("keeps the expectation under a shock and widens the intervals", () => {
    const flat = simulate(h, { draws: 4000, seed: 2, shock: { churn: 0, expansion: 0 }, exactAccounts: n });
    const shocked = simulate(h, { draws: 4000, seed: 2, shock: { churn: 0.6, expansion: 0.6 }, exactAccounts: n });
    expect(Math.abs(shocked.expected[0].churnedArr - closedForm) / closedForm).toBeLessThan(1e-5);
    const width = (s: typeof flat, k: "churnedArr" | "expansionArr") => {
      const f = figureOf(s.expected[0][k], s.draws[0][k]);
      return f.p90[1] - f.p90[0];
    };
    expect(width(shocked, "churnedArr")).toBeGreaterThan(1.3 * width(flat, "churnedArr"));
    expect(width(shocked, "expansionArr")).toBeGreaterThan(1.3 * width(flat, "expansionArr"));
    expect(Math.abs(mean(shocked.draws[0].churnedArr) - closedForm)).toBeLessThan((4 * sd(shocked.draws[0].churnedArr)) / Math.sqrt(4000));
  });

  it("gives the same expectations and nearly the same intervals by Monte Carlo and by the normal approximation", () => {
    for (const shock of [{ churn: 0, expansion: 0 }, { churn: 0.5, expansion: 0.5 }]) {
      const exact = simulate(h, { draws: 6000, seed: 3, shock, exactAccounts: n });
      const normal = simulate(h, { draws: 6000, seed: 4, shock, exactAccounts: 0 });
      expect(normal.exactAccounts).toBe(0);
      for (let j = 0; j < 3; j++) {
        for (const k of ["churnedArr", "expansionArr", "grr", "nrr"] as const) {
          expect(normal.expected[j][k]).toBeCloseTo(exact.expected[j][k], 6);
          const a = figureOf(exact.expected[j][k], exact.draws[j][k]);
          const b = figureOf(normal.expected[j][k], normal.draws[j][k]);
          const spread = a.p90[1] - a.p90[0];
          // Each bound within 8% of the exact interval's width (Monte Carlo noise and the normal's tails).
          expect(Math.abs(a.p90[0] - b.p90[0]), `${k} window ${j} σ ${shock.churn}`).toBeLessThan(0.08 * spread);
          expect(Math.abs(a.p90[1] - b.p90[1]), `${k} window ${j} σ ${shock.churn}`).toBeLessThan(0.08 * spread);
          // GRR and NRR after the first window divide by a start ARR that is itself drawn: their expected value is the ratio of expectations.
          if (j === 0 || k === "churnedArr" || k === "expansionArr") expect(Math.abs(mean(normal.draws[j][k]) - normal.expected[j][k])).toBeLessThan((5 * sd(normal.draws[j][k])) / Math.sqrt(6000) + 1e-9);
        }
      }
    }
  });

  it("is deterministic for a seed, and pairs draws across inputs with the same seed", () => {
    const a = simulate(h, { draws: 500, seed: 9, shock: { churn: 0.3, expansion: 0.3 }, exactAccounts: 100 });
    const b = simulate(h, { draws: 500, seed: 9, shock: { churn: 0.3, expansion: 0.3 }, exactAccounts: 100 });
    expect(Array.from(b.draws[2].nrr)).toEqual(Array.from(a.draws[2].nrr));
    const halved = simulate({ ...h, churn: h.churn.map((p) => p / 2) }, { draws: 500, seed: 9, shock: { churn: 0.3, expansion: 0.3 }, exactAccounts: n });
    const full = simulate(h, { draws: 500, seed: 9, shock: { churn: 0.3, expansion: 0.3 }, exactAccounts: n });
    // Common random numbers: with every account drawn one by one, halving each probability never adds a churn.
    for (let d = 0; d < 500; d++) expect(halved.draws[0].churnedArr[d]).toBeLessThanOrEqual(full.draws[0].churnedArr[d]);
  });
});

describe("coverage on portfolios simulated from the shared-shock model", () => {
  /** `runs` futures of one portfolio: a true shock per future, then each account churns with its shocked probability. */
  function futures(h: Hazards, sigma: number, runs: number, seed: number): number[] {
    const u = seededUniform(seed);
    const l = Array.from(h.churn, (p) => matchedLogit(p, sigma));
    return Array.from({ length: runs }, () => {
      const z = sigma * gauss(u);
      let churned = 0;
      for (let i = 0; i < h.accounts; i++) if (u() < sigmoid(l[i] + z)) churned += h.arr[i];
      return churned;
    });
  }

  it("covers 80% and 90% of futures (±3 points) when σ is right, and too few when accounts are taken as independent", () => {
    const u = seededUniform(5);
    const n = 1500;
    const h = portfolio(
      Array.from({ length: n }, () => Math.round(8_000 * Math.exp(gauss(u)))),
      Array.from({ length: n }, () => 0.01 + 0.15 * u()),
    );
    const truth = futures(h, 0.35, 2000, 77);
    const cover = (sigma: number) => {
      const sim = simulate(h, { draws: 4000, seed: 6, shock: { churn: sigma, expansion: 0 }, exactAccounts: 500 });
      const sorted = Float64Array.from(sim.draws[0].churnedArr).sort();
      const band = (lo: number, hi: number) => truth.filter((y) => quantile(sorted, lo) <= y && y <= quantile(sorted, hi)).length / truth.length;
      return { p80: band(0.1, 0.9), p90: band(0.05, 0.95) };
    };
    const right = cover(0.35);
    console.log(`shared shock σ 0.35: forecast with σ 0.35 covers ${right.p80} / ${right.p90}; as independent accounts ${JSON.stringify(cover(0))}`);
    expect(Math.abs(right.p80 - 0.8)).toBeLessThan(0.03);
    expect(Math.abs(right.p90 - 0.9)).toBeLessThan(0.03);
    const independent = cover(0);
    expect(independent.p80).toBeLessThan(0.7);
    expect(independent.p90).toBeLessThan(0.8);
  });
});
