/**
 * The revenue forecast's backtest (`npm run backtest -- --forecast`): history replayed window by
 * window. At each origin the forecast is built exactly as `GET /v1/forecast` builds it
 * (workers/forecast/: the same per-account rules and the same simulation), from what D1 knew that
 * day (bookAsOf: each account's latest score by then, its ARR then, its renewal; the expansion
 * history before it), and compared with the churned and expansion ARR the outcomes recorded in the
 * window. Three grains:
 * - calendar quarters (the route's windows), one and two quarters ahead: few, so noisy;
 * - rolling origins every `every` days with a quarter-long window (overlapping: neighbours are
 *   not independent);
 * - the same rolling windows per sub-portfolio (owners, or a signal such as segment).
 * The shock's σ is calibrated by maximum likelihood on history (forecast-calibrate.ts). Each
 * window is judged with a σ fitted only on windows that do not overlap it (the honest coverage);
 * the σ fitted on all of them is what `--save-shock` stores for the Worker.
 */
import { addDays } from "../../shared/days";
import { accountHazards, type HazardContext, type Hazards, portfolioRates, quarterWindows, subsetHazards, type Window } from "../../workers/forecast/hazards";
import { expansionArrRate, expansionHistory, type Query } from "../../workers/forecast/history";
import { DEFAULT_SHOCK, type Figure, figureOf, type Shock, simulate } from "../../workers/forecast/simulate";
import { bestSigma, overlaps, type Unit, type UnitLikelihood, unitLikelihood } from "./forecast-calibrate";
import { actualsIn, bookAsOf, historySpan, type WindowActuals } from "./forecast-data";

export interface ForecastBacktestOptions {
  /** The churn model's horizon in days (its artifact's `horizonDays`). */
  horizonDays: number;
  expansionHorizonDays: number;
  /** A trajectory model is active (its stored 90-day health forecasts are then used). */
  trajectoryActive: boolean;
  /** Days between rolling origins (28). */
  every?: number;
  /** Days in a rolling window (91: a quarter). */
  windowDays?: number;
  /** Sub-portfolios: "owner" (default) or a signal name such as segment. */
  by?: string;
  draws?: number;
  exactAccounts?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

export type Judged = {
  kind: "quarter" | "rolling";
  /** 1: the window starts at the origin; 2: the quarter after it. */
  ahead: number;
  origin: string;
  start: string;
  end: string;
  /** The sub-portfolio, or null for the whole portfolio. */
  group: string | null;
  accounts: number;
  arr: number;
  /** The σ it was judged with: fitted on windows that do not overlap it. */
  shock: Shock;
  actual: { churnedArr: number; expansionArr: number };
  /** The forecast with that σ; with independent accounts (σ = 0); with the Worker's DEFAULT_SHOCK. */
  forecast: Record<Judging, { churnedArr: Figure; expansionArr: Figure }>;
};

export const JUDGINGS = ["fitted", "independent", "default"] as const;
export type Judging = (typeof JUDGINGS)[number];

export interface Coverage {
  /** Figures judged (windows × {churned, expansion}). */
  figures: number;
  p80: number;
  p90: number;
  /** The same for each figure alone. */
  churnedArr: { p80: number; p90: number };
  expansionArr: { p80: number; p90: number };
}

export interface ForecastBacktest {
  from: string;
  to: string;
  horizonDays: number;
  by: string;
  /** σ by maximum likelihood over every rolling window (whole portfolio and sub-portfolios). */
  calibrated: Shock;
  quarters: Judged[];
  rolling: Judged[];
  groups: Judged[];
  coverage: Record<"quarters" | "rolling" | "groups", Record<Judging, Coverage>>;
  /** Over the whole portfolio's rolling windows: mean |actual − expected| ÷ actual, and the mean signed error ÷ actual. */
  error: { churnedArr: { mape: number; bias: number }; expansionArr: { mape: number; bias: number } };
}

const DEFAULTS = { every: 28, windowDays: 91, by: "owner", draws: 2000, exactAccounts: 500 };

interface Origin {
  kind: "quarter" | "rolling";
  origin: string;
  windows: Window[];
}

/** Calendar quarters that start inside the history and end by its last day, with the next one when it too has ended. */
function quarterOrigins(first: string, last: string): Origin[] {
  const out: Origin[] = [];
  for (const q of quarterWindows(first, 12).slice(1)) {
    if (q.end > last) break;
    const [, next] = quarterWindows(q.start, 2);
    out.push({ kind: "quarter", origin: q.start, windows: next.end <= last ? [q, next] : [q] });
  }
  return out;
}

interface Prepared {
  origin: Origin;
  hazards: Hazards;
  groups: string[];
  actuals: WindowActuals[];
}

async function prepare(query: Query, o: Origin, opts: ForecastBacktestOptions, by: string): Promise<Prepared> {
  const book = await bookAsOf(query, o.origin, by);
  const history = await expansionHistory(query, o.origin);
  const ctx: HazardContext = {
    horizonDays: opts.horizonDays,
    expansionHorizonDays: opts.expansionHorizonDays,
    observedExpansionArrRate: expansionArrRate(history, book.accounts.reduce((s, a) => s + a.arr, 0)),
    observedExpansionShare: history.medianShare,
  };
  const hazards = accountHazards(book.accounts, o.windows, ctx, opts.trajectoryActive, portfolioRates(book.accounts, ctx));
  const actuals = await Promise.all(o.windows.map((w) => actualsIn(query, book, w.start, w.end)));
  return { origin: o, hazards, groups: book.groups, actuals };
}

interface Candidate {
  unit: Unit;
  ll: UnitLikelihood;
  meta: Omit<Judged, "shock" | "actual" | "forecast">;
}

function candidate(p: Prepared, j: number, indices: number[] | null, group: string | null): Candidate {
  const h = indices ? subsetHazards(p.hazards, indices) : p.hazards;
  const a = p.actuals[j];
  let churned = 0;
  let expansion = 0;
  let arr = 0;
  for (const i of indices ?? Array.from({ length: p.hazards.accounts }, (_, i) => i)) {
    churned += a.churned[i] * p.hazards.arr[i];
    expansion += a.expansion[i];
    arr += p.hazards.arr[i];
  }
  const w = p.origin.windows[j];
  const unit: Unit = { hazards: h, window: j, start: w.start, end: w.end, churnedArr: churned, expansionArr: expansion };
  return { unit, ll: unitLikelihood(unit), meta: { kind: p.origin.kind, ahead: j + 1, origin: p.origin.origin, start: w.start, end: w.end, group, accounts: h.accounts, arr } };
}

function judge(c: Candidate, pool: readonly Candidate[], opts: Required<Pick<ForecastBacktestOptions, "draws" | "exactAccounts">>, seed: number): Judged {
  const fit = pool.filter((p) => !overlaps(p.unit, c.unit));
  const shock = { churn: bestSigma(fit.map((p) => p.ll.churn)), expansion: bestSigma(fit.map((p) => p.ll.expansion)) };
  const j = c.unit.window;
  const run = (s: Shock) => {
    const sim = simulate(c.unit.hazards, { draws: opts.draws, seed, shock: s, exactAccounts: opts.exactAccounts });
    return { churnedArr: figureOf(sim.expected[j].churnedArr, sim.draws[j].churnedArr), expansionArr: figureOf(sim.expected[j].expansionArr, sim.draws[j].expansionArr) };
  };
  return {
    ...c.meta,
    shock,
    actual: { churnedArr: c.unit.churnedArr, expansionArr: c.unit.expansionArr },
    forecast: { fitted: run(shock), independent: run({ churn: 0, expansion: 0 }), default: run(DEFAULT_SHOCK) },
  };
}

const inside = (f: Figure, actual: number, band: "p80" | "p90") => f[band][0] <= actual && actual <= f[band][1];

/** The share of figures (churned and expansion ARR of each window) whose actual fell inside each interval. */
export function coverageOf(judged: readonly Judged[], judging: Judging): Coverage {
  const share = (k: "churnedArr" | "expansionArr", band: "p80" | "p90") => (judged.length ? judged.filter((j) => inside(j.forecast[judging][k], j.actual[k], band)).length / judged.length : 0);
  const each = (k: "churnedArr" | "expansionArr") => ({ p80: share(k, "p80"), p90: share(k, "p90") });
  const churnedArr = each("churnedArr");
  const expansionArr = each("expansionArr");
  return { figures: judged.length * 2, p80: (churnedArr.p80 + expansionArr.p80) / 2, p90: (churnedArr.p90 + expansionArr.p90) / 2, churnedArr, expansionArr };
}

function errors(judged: readonly Judged[], k: "churnedArr" | "expansionArr") {
  const rows = judged.filter((j) => j.actual[k] > 0);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const expected = (j: Judged) => j.forecast.fitted[k].expected;
  return { mape: mean(rows.map((j) => Math.abs(j.actual[k] - expected(j)) / j.actual[k])), bias: mean(rows.map((j) => (expected(j) - j.actual[k]) / j.actual[k])) };
}

/**
 * Replays the forecast over D1's history and judges it.
 *
 * @example
 *   const bt = await forecastBacktest(d1Query(env.DB), { horizonDays: 90, expansionHorizonDays: 90, trajectoryActive: false });
 *   bt.coverage.rolling.fitted.p90; // share of windows whose actual fell inside the 90% interval
 */
export async function forecastBacktest(query: Query, options: ForecastBacktestOptions): Promise<ForecastBacktest> {
  const opts = { ...DEFAULTS, ...options };
  const span = await historySpan(query);
  if (!span) throw new Error("no scores in D1: the forecast backtest replays the scores history (load the SaaS demo, or rescore regularly)");
  const rolling: Origin[] = [];
  for (let o = span.first; addDays(o, opts.windowDays - 1) <= span.last; o = addDays(o, opts.every)) rolling.push({ kind: "rolling", origin: o, windows: [{ start: o, end: addDays(o, opts.windowDays - 1) }] });
  const quarters = quarterOrigins(span.first, span.last);
  if (rolling.length === 0) throw new Error(`the scores history (${span.first} to ${span.last}) is shorter than one ${opts.windowDays}-day window`);

  const origins = [...quarters, ...rolling];
  const prepared: Prepared[] = [];
  for (const o of origins) {
    opts.onProgress?.(prepared.length, origins.length, `origin ${o.origin}`);
    prepared.push(await prepare(query, o, opts, opts.by));
  }
  opts.onProgress?.(origins.length, origins.length, "judging");

  const whole = prepared.flatMap((p) => p.origin.windows.map((_, j) => ({ p, c: candidate(p, j, null, null) })));
  const groupCands = prepared
    .filter((p) => p.origin.kind === "rolling")
    .flatMap((p) => {
      const by = new Map<string, number[]>();
      p.groups.forEach((g, i) => by.set(g, [...(by.get(g) ?? []), i]));
      return [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([g, idx]) => candidate(p, 0, idx, g));
    });
  const rollingWhole = whole.filter((x) => x.p.origin.kind === "rolling").map((x) => x.c);
  // Whole-portfolio windows are judged with σ from the whole portfolio's other windows; sub-portfolios' from theirs.
  const sim = { draws: opts.draws, exactAccounts: opts.exactAccounts };
  const judgedQuarters = whole.filter((x) => x.p.origin.kind === "quarter").map((x, k) => judge(x.c, rollingWhole, sim, 1000 + k));
  const judgedRolling = rollingWhole.map((c, k) => judge(c, rollingWhole, sim, 2000 + k));
  const judgedGroups = groupCands.map((c, k) => judge(c, groupCands, sim, 3000 + k));
  const all = [...rollingWhole, ...groupCands];
  const cov = (j: Judged[]) => Object.fromEntries(JUDGINGS.map((k) => [k, coverageOf(j, k)])) as Record<Judging, Coverage>;
  return {
    from: span.first,
    to: span.last,
    horizonDays: opts.horizonDays,
    by: opts.by,
    calibrated: { churn: bestSigma(all.map((c) => c.ll.churn)), expansion: bestSigma(all.map((c) => c.ll.expansion)) },
    quarters: judgedQuarters,
    rolling: judgedRolling,
    groups: judgedGroups,
    coverage: { quarters: cov(judgedQuarters), rolling: cov(judgedRolling), groups: cov(judgedGroups) },
    error: { churnedArr: errors(judgedRolling, "churnedArr"), expansionArr: errors(judgedRolling, "expansionArr") },
  };
}
