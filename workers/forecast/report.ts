/**
 * The forecast as the routes answer it: reads the book, derives every account's probabilities,
 * simulates the baseline (and each scenario with the baseline's draws), and shapes the quarters,
 * their top accounts, the differences and the method. The figures' shapes are schemas.ts's.
 */
import type { z } from "zod";
import { today as todayOf } from "../../shared/db/write";
import { sha256Hex } from "../../shared/hash";
import { type Book, hazardContext, readBook, storedShock } from "./book";
import { accountHazards, type Hazards, quarterWindows, subsetHazards, TERM_DAYS, type Window } from "./hazards";
import { type Levers, withLevers } from "./scenarios";
import type { Forecast, Method, Quarter, Scenarios } from "./schemas";
import { figureOf, type Shock, type Simulation, simulate } from "./simulate";

/** Simulated futures per forecast. */
export const DRAWS = 2000;
/** Accounts drawn one by one; beyond them the normal approximation (bench/forecast.ts measures the CPU). */
export const EXACT_ACCOUNTS = 500;
/** Accounts listed per quarter as the largest contributors. */
const TOP = 5;

type QuarterOut = z.infer<typeof Quarter>;
type MethodOut = z.infer<typeof Method>;

export const METHOD_SUMMARY =
  "Per account and quarter: a renewal inside the churn model's horizon churns with the account's churn probability; a later one with the trajectory's 90-day health forecast when a trajectory model is active, else with the larger of its probability and the portfolio's renewal churn rate; between renewals accounts churn at a small mid-term hazard (−ln(1 − p) / horizon of accounts whose horizon holds no renewal). Expansion: a trained model's probability over its horizon, or the scorecard's readiness scaled to the last 12 months' expansion ARR, times the median expansion share of ARR. Combined by Monte Carlo with a shared shock: one portfolio-wide log-odds shift of churn and one of expansion per draw, N(0, σ²), mean-preserving; expected values exact by quadrature over the shock.";

/** A 32-bit seed from the day, so one D1 state gives the same figures all day. */
async function seedOf(day: string): Promise<number> {
  return Number.parseInt((await sha256Hex(`forecast:${day}`)).slice(0, 8), 16);
}

/** The accounts left out, for the whole portfolio or one owner. */
function excludedOf(book: Book, owner: string | null): MethodOut["excluded"] {
  const out = { unscored: 0, withoutArr: 0 };
  for (const [who, counts] of book.excluded) {
    if (owner !== null && who !== owner) continue;
    out.unscored += counts.unscored;
    out.withoutArr += counts.withoutArr;
  }
  return out;
}

interface Prepared {
  asOf: string;
  windows: Window[];
  book: Book;
  /** Indices into the book of the accounts forecast (the owner's, or all). */
  indices: number[];
  hazards: Hazards;
  shock: Shock;
  method: MethodOut;
}

async function prepare(env: Env, quarters: number, owner: string | null): Promise<Prepared> {
  const now = new Date();
  const day = todayOf(now);
  const windows = quarterWindows(day, quarters);
  const book = await readBook(env.DB, day);
  const [{ ctx, trajectoryActive }, shock, seed] = await Promise.all([hazardContext(env, book, day), storedShock(env.DB), seedOf(day)]);
  const all = accountHazards(book.accounts, windows, ctx, trajectoryActive);
  const indices = owner === null ? book.accounts.map((_, i) => i) : book.owners.flatMap((o, i) => (o === owner ? [i] : []));
  const hazards = owner === null ? all : subsetHazards(all, indices);
  const r = all.rates;
  const method: MethodOut = {
    summary: METHOD_SUMMARY,
    accounts: indices.length,
    arr: indices.reduce((s, i) => s + book.accounts[i].arr, 0),
    excluded: excludedOf(book, owner),
    churnHorizonDays: ctx.horizonDays,
    expansionHorizonDays: ctx.expansionHorizonDays,
    contractTermDays: TERM_DAYS,
    renewalChurnRate: r.renewalChurnRate,
    midTermHazardPerYear: r.midTermHazard,
    trajectory: trajectoryActive,
    expansion: { share: r.expansionShare, shareSource: r.expansionShareSource, readinessScale: r.readinessScale },
    shock,
    simulation: { draws: DRAWS, seed, exactAccounts: Math.min(EXACT_ACCOUNTS, indices.length) },
  };
  return { asOf: now.toISOString(), windows, book, indices, hazards, shock: { churn: shock.churn, expansion: shock.expansion }, method };
}

const run = (p: Prepared, h: Hazards) => simulate(h, { draws: DRAWS, seed: p.method.simulation.seed, shock: p.shock, exactAccounts: EXACT_ACCOUNTS });

function top(p: Prepared, h: Hazards, sim: Simulation, j: number): QuarterOut["topAccounts"] {
  const w = h.windows;
  const pick = (values: Float64Array) =>
    Array.from({ length: h.accounts }, (_, r) => r)
      .filter((r) => values[r * w + j] > 0)
      .sort((a, b) => values[b * w + j] - values[a * w + j] || a - b)
      .slice(0, TOP);
  const who = (r: number) => {
    const i = p.indices[r];
    const a = p.book.accounts[i];
    return { id: a.id, name: p.book.names[i], owner: p.book.owners[i], arr: a.arr, tier: a.tier };
  };
  return {
    churn: pick(sim.contributions.churn).map((r) => ({ ...who(r), churnProbability: h.churn[r * w + j], expectedChurnedArr: sim.contributions.churn[r * w + j] })),
    expansion: pick(sim.contributions.expansion).map((r) => ({ ...who(r), expansionProbability: h.expand[r * w + j], expectedExpansionArr: sim.contributions.expansion[r * w + j] })),
  };
}

function figuresOf(sim: Simulation, j: number, base?: Simulation) {
  const fig = (k: keyof Simulation["expected"][number]) => {
    if (!base) return figureOf(sim.expected[j][k], sim.draws[j][k]);
    const a = sim.draws[j][k];
    const b = base.draws[j][k];
    return figureOf(sim.expected[j][k] - base.expected[j][k], a.map((v, d) => v - b[d]));
  };
  return {
    renewalsDue: { count: fig("renewalsDueCount"), arr: fig("renewalsDueArr") },
    churnedArr: fig("churnedArr"),
    expansionArr: fig("expansionArr"),
    grr: fig("grr"),
    nrr: fig("nrr"),
  };
}

function quartersOf(p: Prepared, h: Hazards, sim: Simulation): QuarterOut[] {
  return p.windows.map((win, j) => ({ start: win.start, end: win.end, ...figuresOf(sim, j), topAccounts: top(p, h, sim, j) }));
}

/**
 * `GET /v1/forecast`: the quarters ahead for the whole portfolio or one owner's accounts.
 *
 * @example
 *   const f = await forecast(env, 4, null);
 *   f.quarters[0].churnedArr.p90; // [lo, hi]
 */
export async function forecast(env: Env, quarters: number, owner: string | null): Promise<z.infer<typeof Forecast>> {
  const p = await prepare(env, quarters, owner);
  return { asOf: p.asOf, owner, method: p.method, quarters: quartersOf(p, p.hazards, run(p, p.hazards)) };
}

/**
 * `POST /v1/forecast/scenarios`: the baseline and each scenario's quarters, with the difference
 * scenario − baseline drawn pairwise.
 */
export async function scenarios(env: Env, quarters: number, owner: string | null, list: (Levers & { name: string })[]): Promise<z.infer<typeof Scenarios>> {
  const p = await prepare(env, quarters, owner);
  const base = run(p, p.hazards);
  const tiers = p.indices.map((i) => p.book.accounts[i].tier);
  return {
    asOf: p.asOf,
    owner,
    method: p.method,
    baseline: { quarters: quartersOf(p, p.hazards, base) },
    scenarios: list.map(({ name, ...levers }) => {
      const h = withLevers(p.hazards, tiers, p.windows, levers);
      const sim = run(p, h);
      return {
        name,
        levers,
        quarters: quartersOf(p, h, sim),
        difference: p.windows.map((win, j) => ({ start: win.start, end: win.end, ...figuresOf(sim, j, base) })),
      };
    }),
  };
}
