/**
 * The health half of the backtest: a rolling origin over an event log. At each origin c (a cutoff
 * every `every` days) everything is fitted on what was known at c: a churn model on the snapshot
 * at c − horizon labelled by (c − horizon, c], whose probabilities define health for that origin;
 * and a trajectory model on the panel's pairs whose target lies on or before c (cross-fitted by
 * account, `training/trajectory/cross.ts`). Each account active at c is then forecast 90 days
 * ahead and, where the log reaches c + 90, compared with its health then under the same health
 * model, beside "no change" and a straight line through its last 90 days. The flags every origin
 * raises (actBy within 30 days, or red now) feed the timing half, including the origins of the
 * last `horizon` days, whose churn labels are known though their health 90 days on is not.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toCsv } from "../../shared/csv";
import { actBy, DEFAULT_LEAD_DAYS, healthOf, type HorizonForecast, redHealth, trendForecast } from "../../shared/cs/trajectory";
import { Scorer } from "../../shared/model/scorer";
import { TrajectoryModel, trajectoryInputs } from "../../shared/model/trajectory";
import { buildPanel, PANEL_DATE } from "../panel";
import { isoDate, isoDay } from "../dates";
import { CHURNED, LABEL_COLUMN, type Snapshot } from "../snapshots";
import type { Csv } from "../../shared/csv";
import { train } from "../train";
import { trainTrajectory } from "../trajectory";

export interface HealthBacktestOptions {
  customer: string;
  date: string;
  amount?: string | null;
  /** Days ahead forecast and labelled (90). */
  horizon: number;
  /** Days between cutoffs (30). */
  every: number;
  /** Seconds each fit may spend (the churn model and the trajectory model at each origin). */
  budget: number;
  /** Accounts evaluated at an origin: those with an event in this many days up to it (180). */
  cohortActive: number;
  /** At most this many accounts' rows train each origin's trajectory model (a fixed sample by id), which bounds its time. */
  trainAccounts?: number;
  onProgress?: (done: number, total: number, label: string) => void;
  /** Told why an origin falls back to the own trend. */
  onNote?: (note: string) => void;
}

/** One account flagged or not at one origin, for the timing half. */
export interface OriginFlags {
  cutoff: string;
  /** actBy falls within the next 30 days. */
  flagged: Set<string>;
  /** The current tier is red. */
  red: Set<string>;
  /** Labelled churned at this cutoff: no event in the horizon after it. */
  churned: Set<string>;
}

export interface HealthBacktest {
  mae: number;
  baselineMae: number;
  trendBaselineMae: number;
  coverage90: number;
  /** Origins the health forecast was judged at (those with a snapshot `horizon` days on). */
  cutoffs: number;
  accounts: number;
  /** Forecast/actual pairs evaluated (accounts × origins). */
  pairs: number;
  origins: { cutoff: string; accounts: number; mae: number; baselineMae: number; trendBaselineMae: number; coverage90: number; source: "model" | "trend" }[];
  /** Every origin's flags, oldest first: the judged ones and those of the last `horizon` days. */
  flags: OriginFlags[];
}

/** A fixed pseudo-random share of account ids (FNV-1a of the id), the same at every origin. */
function sampleOf(share: number): (id: string) => boolean {
  return (id) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    return (h >>> 0) / 2 ** 32 < share;
  };
}

const numeric = (v: string | number) => (typeof v === "number" ? v : v === "" ? Number.NaN : Number(v));

/** Snapshot rows as records keyed by column, for the scorer. */
function records(s: Snapshot): Record<string, string | number>[] {
  return s.rows.map((r) => Object.fromEntries(s.header.map((h, i) => [h, r[i]])));
}

/** Least-squares slope (per day) through (day, health) points. */
function slope(points: { day: number; health: number }[]): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((a, p) => a + p.day, 0) / points.length;
  const my = points.reduce((a, p) => a + p.health, 0) / points.length;
  const sxx = points.reduce((a, p) => a + (p.day - mx) ** 2, 0);
  return sxx > 0 ? points.reduce((a, p) => a + (p.day - mx) * (p.health - my), 0) / sxx : 0;
}

/**
 * Runs the rolling origin over the log.
 *
 * @example
 *   const h = await healthBacktest(log.csv, { customer: "customer_id", date: "date", horizon: 90, every: 30, budget: 20, cohortActive: 180 });
 */
export async function healthBacktest(events: Csv, o: HealthBacktestOptions): Promise<HealthBacktest> {
  const dateAt = events.header.indexOf(o.date);
  const logFrom = Math.min(...events.rows.map((r) => isoDay(r[dateAt])).filter((d) => Number.isFinite(d)));
  // The first cutoff leaves `horizon` days of history for its features.
  const start = isoDate(logFrom + o.horizon);
  const panel = buildPanel(events, { customer: o.customer, date: o.date, amount: o.amount ?? null, cutoff: start, horizon: o.horizon }, o.every);
  const snaps = panel.snapshots;
  const day = (s: Snapshot) => isoDay(s.summary.cutoff);
  const signals = snaps[0].header.slice(1).filter((h) => h !== LABEL_COLUMN);
  const sampled = sampleOf(Math.min(1, (o.trainAccounts ?? 3000) / Math.max(1, snaps[snaps.length - 1].rows.length)));
  // Origins: a churn model needs the snapshot `horizon` days back. Every such cutoff has its churn
  // label (a snapshot exists only when its horizon is inside the log), so every one flags for the
  // timing half; the health forecast is judged where the snapshot `horizon` days on exists too.
  const origins = snaps.filter((s) => snaps.some((t) => day(t) === day(s) - o.horizon));
  const judged = (s: Snapshot) => snaps.some((t) => day(t) === day(s) + o.horizon);
  const dir = mkdtempSync(join(tmpdir(), "foresight-backtest-"));
  const out: HealthBacktest = { mae: 0, baselineMae: 0, trendBaselineMae: 0, coverage90: 0, cutoffs: origins.filter(judged).length, accounts: 0, pairs: 0, origins: [], flags: [] };
  const seen = new Set<string>();
  let absErr = 0;
  let absBase = 0;
  let absTrend = 0;
  let covered = 0;
  try {
    for (const [k, origin] of origins.entries()) {
      const c = day(origin);
      o.onProgress?.(k, origins.length, `origin ${origin.summary.cutoff}`);
      // 1. Health for this origin: a churn model on the snapshot `horizon` days back, active cohort only.
      const back = snaps.find((s) => day(s) === c - o.horizon) as Snapshot;
      const recency = back.header.indexOf("recency_days");
      const trainRows = back.rows.filter((r) => numeric(r[recency]) <= o.cohortActive);
      const churnFile = join(dir, `churn-${k}.csv`);
      writeFileSync(churnFile, toCsv(back.header, trainRows));
      const churn = await train({ data: churnFile, label: LABEL_COLUMN, positive: CHURNED, id: o.customer, family: "logistic", folds: 3, budget: o.budget, horizon: o.horizon, now: new Date(`${origin.summary.cutoff}T00:00:00Z`) });
      const scorer = new Scorer(churn.artifact);
      const red = redHealth(churn.artifact.tiers.red);
      const known = snaps.filter((s) => day(s) <= c + o.horizon);
      const health = new Map<string, Map<number, number>>();
      for (const s of known) for (const r of records(s)) {
        const id = String(r[o.customer]);
        let m = health.get(id);
        if (!m) health.set(id, (m = new Map()));
        m.set(day(s), healthOf(scorer.probability(r as Record<string, never>)));
      }
      // 2. A trajectory model on the pairs known at c: rows up to c, so every target is on or before c.
      // Rows of accounts active within cohortActive + horizon days: every pair whose source account
      // was active keeps its target row, and long-gone accounts (whose health no longer moves) stay out.
      const panelRows = known
        .filter((s) => day(s) <= c)
        .flatMap((s) => {
          return records(s)
            .filter((r) => numeric(r.recency_days) <= o.cohortActive + o.horizon && sampled(String(r[o.customer])))
            .map((r) => [r[o.customer], s.summary.cutoff, health.get(String(r[o.customer]))!.get(day(s))!, ...signals.map((h) => r[h])]);
        });
      const panelFile = join(dir, `panel-${k}.csv`);
      writeFileSync(panelFile, toCsv([o.customer, PANEL_DATE, "health", ...signals], panelRows as (string | number)[][]));
      let model: TrajectoryModel | null = null;
      try {
        model = new TrajectoryModel((await trainTrajectory({ data: panelFile, id: o.customer, date: PANEL_DATE, budget: o.budget, judge: false, now: new Date(`${origin.summary.cutoff}T00:00:00Z`) })).artifact);
      } catch (err) {
        // Too few accounts with a health a horizon later to cross-fit: the own-trend fallback forecasts this origin.
        o.onNote?.(`${origin.summary.cutoff}: no trajectory model yet, the own trend forecasts (${(err as Error).message.replace(/^--data: /, "")})`);
        model = null;
      }
      // 3. Forecast every account active at c; judge against its health at c + horizon.
      const flags: OriginFlags = { cutoff: origin.summary.cutoff, flagged: new Set(), red: new Set(), churned: new Set() };
      const labelAt = origin.header.indexOf(LABEL_COLUMN);
      const originRecency = origin.header.indexOf("recency_days");
      let e = 0, b = 0, t = 0, cov = 0, n = 0;
      const history = new Map<string, { date: string; signals: Record<string, number> }[]>();
      for (const s of known.filter((x) => day(x) < c)) for (const r of records(s)) {
        const id = String(r[o.customer]);
        const list = history.get(id) ?? [];
        list.push({ date: s.summary.cutoff, signals: Object.fromEntries(signals.map((h) => [h, numeric(r[h])])) });
        history.set(id, list);
      }
      for (const r of origin.rows) {
        const id = String(r[0]);
        if (numeric(r[originRecency]) > o.cohortActive) continue;
        const hs = health.get(id)!;
        const now = hs.get(c)!;
        const actual = hs.get(c + o.horizon);
        const past = [...hs.entries()].filter(([d]) => d < c).sort((x, y) => x[0] - y[0]).map(([d, h]) => ({ date: isoDate(d), health: h }));
        const record = Object.fromEntries(origin.header.map((h, i) => [h, r[i]]));
        const horizons: HorizonForecast[] = model
          ? (model.forecast(
              trajectoryInputs(model.signals, {
                asOf: origin.summary.cutoff,
                health: now,
                signals: Object.fromEntries(signals.map((h) => [h, numeric(record[h])])),
                daysToRenewal: null,
                healthHistory: past,
                signalHistory: history.get(id) ?? [],
              }),
            ) as HorizonForecast[])
          : trendForecast([...past, { date: origin.summary.cutoff, health: now }], origin.summary.cutoff);
        if (r[labelAt] === CHURNED) flags.churned.add(id);
        if (now <= red) flags.red.add(id);
        const when = actBy({ today: origin.summary.cutoff, health: now, horizons, red, leadDays: DEFAULT_LEAD_DAYS.yellow });
        if (when.actBy !== null && isoDay(when.actBy) <= c + 30) flags.flagged.add(id);
        if (actual === undefined) continue;
        const far = horizons[horizons.length - 1];
        const line = [...hs.entries()].filter(([d]) => d >= c - 90 && d <= c).map(([d, h]) => ({ day: d, health: h }));
        const straight = Math.min(100, Math.max(0, now + slope(line) * o.horizon));
        e += Math.abs(far.health - actual);
        b += Math.abs(now - actual);
        t += Math.abs(straight - actual);
        cov += actual >= far.lower && actual <= far.upper ? 1 : 0;
        n++;
        seen.add(id);
      }
      out.flags.push(flags);
      if (!judged(origin)) continue;
      out.origins.push({ cutoff: origin.summary.cutoff, accounts: n, mae: e / n, baselineMae: b / n, trendBaselineMae: t / n, coverage90: cov / n, source: model ? "model" : "trend" });
      absErr += e;
      absBase += b;
      absTrend += t;
      covered += cov;
      out.pairs += n;
    }
    o.onProgress?.(origins.length, origins.length, "done");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  out.mae = absErr / out.pairs;
  out.baselineMae = absBase / out.pairs;
  out.trendBaselineMae = absTrend / out.pairs;
  out.coverage90 = covered / out.pairs;
  out.accounts = seen.size;
  return out;
}
