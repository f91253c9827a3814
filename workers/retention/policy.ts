/**
 * The retention policy: how long each kind of history stays in D1 before it is thinned or moved
 * to R2 (workers/retention/job.ts does the moving). Pure: the periods, their cut-off dates for a
 * day, the week and month buckets, and a day-by-day simulation of how many rows per account the
 * policy keeps at most, which the README and `npm run bench:rescore` multiply by measured bytes.
 */

/** Periods in days, counted back from the UTC day the job runs (its 00:00). */
export interface RetentionPolicy {
  /** Scores older than this lose their drivers, expansion reason and run id, except each account's current score. */
  scoreDriversDays: number;
  /** Every score is kept this long ... */
  scoreDailyDays: number;
  /** ... then one per account per week (the first) until this age ... */
  scoreWeeklyDays: number;
  /** ... then one per account per calendar month (the first) until this age; older ones leave D1. */
  scoreMonthlyDays: number;
  /** The same bands for signal snapshots (each account's newest snapshot always stays). */
  snapshotDailyDays: number;
  snapshotWeeklyDays: number;
  snapshotMonthlyDays: number;
  /** Events, and webhook deliveries that are no longer pending or retrying. */
  eventDays: number;
  /** Shadow-model scores. */
  shadowDays: number;
}

/**
 * Defaults sized for a million accounts in well under D1's 10 GB by bench:rescore's measured row
 * sizes (README, "Scale and retention"): drivers only on current scores; every score of today and
 * yesterday, then the first of each month to 120 days (the monitoring horizon of 90 days plus a
 * month); snapshots: the newest and the first of each month to 120 days (enough for
 * export-training at the horizon); events 14 days (a weekly insights digest stays reproducible from D1 for the week after it); shadow scores of today's and yesterday's runs.
 */
export const DEFAULT_RETENTION: RetentionPolicy = {
  scoreDriversDays: 0,
  scoreDailyDays: 1,
  scoreWeeklyDays: 1,
  scoreMonthlyDays: 120,
  snapshotDailyDays: 0,
  snapshotWeeklyDays: 0,
  snapshotMonthlyDays: 120,
  eventDays: 14,
  shadowDays: 1,
};

/** The var that sets each period (wrangler.toml [vars]); unset vars keep the default. */
export const RETENTION_VARS: Record<keyof RetentionPolicy, string> = {
  scoreDriversDays: "RETENTION_SCORE_DRIVERS_DAYS",
  scoreDailyDays: "RETENTION_SCORE_DAILY_DAYS",
  scoreWeeklyDays: "RETENTION_SCORE_WEEKLY_DAYS",
  scoreMonthlyDays: "RETENTION_SCORE_MONTHLY_DAYS",
  snapshotDailyDays: "RETENTION_SNAPSHOT_DAILY_DAYS",
  snapshotWeeklyDays: "RETENTION_SNAPSHOT_WEEKLY_DAYS",
  snapshotMonthlyDays: "RETENTION_SNAPSHOT_MONTHLY_DAYS",
  eventDays: "RETENTION_EVENT_DAYS",
  shadowDays: "RETENTION_SHADOW_DAYS",
};

/**
 * The policy from the vars, checked: whole days ≥ 0, and daily ≤ weekly ≤ monthly in each band.
 * Throws on a bad value, so a typo stops the job (nothing is removed) rather than removing more.
 *
 * @example
 *   retentionPolicy({ RETENTION_SCORE_MONTHLY_DAYS: "730" }).scoreMonthlyDays; // 730
 */
export function retentionPolicy(vars: Record<string, unknown>): RetentionPolicy {
  const policy = { ...DEFAULT_RETENTION };
  for (const [field, name] of Object.entries(RETENTION_VARS) as [keyof RetentionPolicy, string][]) {
    const raw = vars[name];
    if (raw === undefined || raw === null || raw === "") continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of days ≥ 0, got "${String(raw)}"`);
    policy[field] = n;
  }
  const ordered = (a: keyof RetentionPolicy, b: keyof RetentionPolicy) => {
    if (policy[a] > policy[b]) throw new Error(`${RETENTION_VARS[a]} (${policy[a]}) must not exceed ${RETENTION_VARS[b]} (${policy[b]})`);
  };
  ordered("scoreDailyDays", "scoreWeeklyDays");
  ordered("scoreWeeklyDays", "scoreMonthlyDays");
  ordered("snapshotDailyDays", "snapshotWeeklyDays");
  ordered("snapshotWeeklyDays", "snapshotMonthlyDays");
  return policy;
}

/** `YYYY-MM-DD` of `day` minus `days` (UTC). */
export function daysBefore(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

/** The cut-off dates for the job of `day`: rows dated before a cut-off are past that period. */
export function cutoffs(policy: RetentionPolicy, day: string) {
  return {
    scoreDrivers: daysBefore(day, policy.scoreDriversDays),
    scoreDaily: daysBefore(day, policy.scoreDailyDays),
    scoreWeekly: daysBefore(day, policy.scoreWeeklyDays),
    scoreMonthly: daysBefore(day, policy.scoreMonthlyDays),
    snapshotDaily: daysBefore(day, policy.snapshotDailyDays),
    snapshotWeekly: daysBefore(day, policy.snapshotWeeklyDays),
    snapshotMonthly: daysBefore(day, policy.snapshotMonthlyDays),
    event: daysBefore(day, policy.eventDays),
    shadow: daysBefore(day, policy.shadowDays),
  };
}

/** Julian day of Monday 1970-01-05: weeks are counted from it, Monday to Sunday. */
const MONDAY_JD = 2440591.5;

/** SQL for the week number (Mondays start weeks) of a text column holding an ISO date or time. */
export const sqlWeek = (column: string) => `CAST((julianday(substr(${column}, 1, 10)) - ${MONDAY_JD}) / 7 AS INTEGER)`;
/** SQL for the month (`YYYY-MM`) of such a column. */
export const sqlMonth = (column: string) => `substr(${column}, 1, 7)`;

/** The week number `sqlWeek` computes, in TypeScript. */
export function weekOf(date: string): number {
  return Math.floor((Date.parse(`${date.slice(0, 10)}T00:00:00Z`) / 86_400_000 + 2440587.5 - MONDAY_JD) / 7);
}

/**
 * Which of one account's dated rows a band policy keeps, given the cut-offs (dates): everything
 * on or after `daily`; the first row of each week on or after `weekly`; the first of each month
 * on or after `monthly`; nothing older. `keep` (the current score, the newest snapshot) always
 * stays. The job's SQL does the same; the tests and the simulation below use this.
 */
export function keptByBands(dates: string[], cut: { daily: string; weekly: string; monthly: string }, keep: (i: number) => boolean = () => false): boolean[] {
  const order = dates.map((d, i) => [d, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  const seen = new Set<string>();
  const kept = dates.map(() => false);
  for (const [date, i] of order) {
    const day = date.slice(0, 10);
    let bucket: string | null;
    if (day >= cut.daily) bucket = null;
    else if (day >= cut.weekly) bucket = `w${weekOf(day)}`;
    else if (day >= cut.monthly) bucket = `m${day.slice(0, 7)}`;
    else bucket = "gone";
    if (bucket === null) kept[i] = true;
    else if (bucket !== "gone" && !seen.has(bucket)) {
      seen.add(bucket);
      kept[i] = true;
    }
    if (keep(i)) kept[i] = true;
  }
  return kept;
}

/**
 * The most rows per account a band policy holds, simulated day by day for `days` days from
 * `start` with one row a day (a daily rescoring; a snapshot every day is the worst case) and the
 * job run every day, counted just before each run: the peak of the steady state.
 */
export function peakRowsPerAccount(bands: { daily: number; weekly: number; monthly: number }, start = "2026-01-01", days = 800): number {
  let rows: string[] = [];
  let peak = 0;
  for (let t = 0; t < days; t++) {
    const day = daysBefore(start, -t);
    rows.push(day);
    if (t > bands.monthly + 62) peak = Math.max(peak, rows.length);
    const kept = keptByBands(rows, { daily: daysBefore(day, bands.daily), weekly: daysBefore(day, bands.weekly), monthly: daysBefore(day, bands.monthly) }, (i) => i === rows.length - 1);
    rows = rows.filter((_, i) => kept[i]);
  }
  return peak;
}

/** Measured bytes per row (pages in use, indexes included), from `npm run bench:rescore`. */
export interface RowBytes {
  account: number;
  /** A score as written, with its drivers (the current one). */
  score: number;
  /** A score as the retention job leaves it (no drivers, reason or run id). */
  thinnedScore: number;
  snapshot: number;
  event: number;
  shadowScore: number;
}

/** The assumptions of the worst case the defaults are sized for. */
export interface Workload {
  accounts: number;
  /** Signal snapshots per account per day (1: every account's signals change every day). */
  snapshotsPerDay: number;
  /** Tier-change events per account per day. */
  eventsPerDay: number;
  /** Whether a shadow model is scored beside the active one in every run. */
  shadow: boolean;
}

/**
 * Peak bytes in D1 by kind under a policy: rows per account from `peakRowsPerAccount` (the
 * current score with its drivers, the rest thinned) times the measured sizes.
 */
export function retentionBudget(policy: RetentionPolicy, bytes: RowBytes, w: Workload): { item: string; rows: number; bytesPerAccount: number; total: number }[] {
  const scores = peakRowsPerAccount({ daily: policy.scoreDailyDays, weekly: policy.scoreWeeklyDays, monthly: policy.scoreMonthlyDays });
  const snapshots = Math.ceil(peakRowsPerAccount({ daily: policy.snapshotDailyDays, weekly: policy.snapshotWeeklyDays, monthly: policy.snapshotMonthlyDays }) * Math.min(1, w.snapshotsPerDay));
  const driversRows = Math.max(1, policy.scoreDriversDays + 1);
  const items = [
    { item: "accounts (signals, current score columns)", rows: 1, bytesPerAccount: bytes.account },
    { item: `scores with drivers (current${policy.scoreDriversDays ? `, ${policy.scoreDriversDays} day(s) more` : ""})`, rows: Math.min(scores, driversRows), bytesPerAccount: Math.min(scores, driversRows) * bytes.score },
    { item: "scores thinned (history)", rows: Math.max(0, scores - driversRows), bytesPerAccount: Math.max(0, scores - driversRows) * bytes.thinnedScore },
    { item: "signal snapshots", rows: snapshots, bytesPerAccount: snapshots * bytes.snapshot },
    { item: `events (${w.eventsPerDay * 100}% of accounts a day × ${policy.eventDays} days)`, rows: w.eventsPerDay * policy.eventDays, bytesPerAccount: w.eventsPerDay * policy.eventDays * bytes.event },
    ...(w.shadow ? [{ item: `shadow scores (${policy.shadowDays + 1} runs)`, rows: policy.shadowDays + 1, bytesPerAccount: (policy.shadowDays + 1) * bytes.shadowScore }] : []),
  ];
  return items.map((i) => ({ ...i, total: i.bytesPerAccount * w.accounts }));
}
