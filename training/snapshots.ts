/**
 * Event logs → training snapshots. A raw log (one row per purchase, login or order) has no
 * churn label of its own; this turns it into one row per customer as of a cutoff date, with
 * behaviour features computed only from events on or before the cutoff and the label
 * `churned` = no event in (cutoff, cutoff + horizon days]. Snapshots at two cutoffs give an
 * honest time split: train on the earlier one, measure on the later one.
 *
 * Nothing after the cutoff ever reaches a feature; events after it only decide the label.
 */
import { type Csv, toCsv } from "../shared/csv";
import { isMissing, toNumber } from "../shared/model/features";
import { listColumns } from "./dataset";
import { isoDate, isoDay } from "./dates";
import { UsageError } from "./errors";
import { readEventLog } from "./event-log";

export interface SnapshotOptions {
  /** Column holding the customer id (`--customer`); becomes the snapshot's first column. */
  customer: string;
  /** Column holding the event date, ISO `YYYY-MM-DD` (`--date`). */
  date: string;
  /** Optional column holding each event's amount (`--amount`), e.g. spend. */
  amount?: string | null;
  /** The "as of" day, ISO `YYYY-MM-DD` (`--cutoff`); its own events count as history. */
  cutoff: string;
  /** Days after the cutoff in which a returning customer counts as retained (`--horizon`). */
  horizon: number;
  /**
   * Keep only customers with an event in the `cohortActive` days up to the cutoff, i.e. on or
   * after cutoff − cohortActive days (`--cohort-active`). Absent: every customer seen by then.
   */
  cohortActive?: number | null;
}

export interface SnapshotSummary {
  cutoff: string;
  horizon: number;
  cohortActive: number | null;
  /** First and last event date in the log. */
  logFrom: string;
  logTo: string;
  /** Events in the log, and those on or before the cutoff (the only ones features see). */
  events: number;
  eventsUsed: number;
  /** Customers with an event on or before the cutoff, before the cohort filter. */
  customersSeen: number;
  /** Customers left out by the cohort filter (no event in the last `cohortActive` days). */
  leftOutInactive: number;
  /** Customers whose first event is after the cutoff: not in the snapshot. */
  notYetCustomers: number;
  /** Rows in the snapshot, and those labelled churned. */
  customers: number;
  churned: number;
  churnRate: number;
}

export interface Snapshot {
  header: string[];
  /** One row per customer, in the order of `header`; blank cells are missing values. */
  rows: (string | number)[][];
  summary: SnapshotSummary;
}

/** The label column's name and its values, as `train --label churned --positive yes` expects. */
export const LABEL_COLUMN = "churned";
export const CHURNED = "yes";
export const RETAINED = "no";

/**
 * Parses `--cutoff`-style flags: an ISO date or a UsageError naming the flag.
 *
 * @example
 *   parseIsoFlag("1997-09-30", "--cutoff"); // 10134
 *   parseIsoFlag("30/09/1997", "--cutoff"); // throws "--cutoff: must be a calendar date written YYYY-MM-DD, ..."
 */
export function parseIsoFlag(value: string, flag: string): number {
  const day = isoDay(value);
  if (Number.isNaN(day)) throw new UsageError(flag, `must be a calendar date written YYYY-MM-DD, got "${value}"`);
  return day;
}

/**
 * Parses a whole number of days ≥ 1 for `flag`, or throws a UsageError naming it.
 *
 * @example
 *   parseDaysFlag("90", "--horizon"); // 90
 */
export function parseDaysFlag(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 1) throw new UsageError(flag, `must be a whole number of days >= 1, got "${value}"`);
  return n;
}

/** Feature windows in days; trends compare the last 90 days with the 90 before them. */
const WINDOWS = [30, 90, 180] as const;

/**
 * Builds the snapshot of `events` as of `options.cutoff`: one row per customer with an event on
 * or before the cutoff (and, with `cohortActive`, one in the last `cohortActive` days), sorted
 * by customer id. Columns, in the order written:
 *
 * - the customer column, then `recency_days` (cutoff − last event), `tenure_days` (cutoff −
 *   first event), `events` (event rows), `active_days` (distinct days with an event);
 * - with `amount`: `{amount}_total` and `{amount}_mean` (per event with an amount);
 * - `events_last_{30,90,180}d` and, with `amount`, `{amount}_last_{30,90,180}d`, where "last k
 *   days" is cutoff − k ≤ day ≤ cutoff (the same window as the cohort filter);
 * - `events_trend_90d` = events in the last 90 days − events in the 90 before them (and the
 *   same for the amount): a difference, not a ratio, so a quiet earlier quarter is no division
 *   by zero;
 * - `mean_gap_days`: mean days between consecutive active days, blank for one active day;
 * - `overdue_ratio` = recency ÷ mean gap: how late the customer is against their own rhythm
 *   (blank for one active day), and `silence_prob` = exp(−rate × recency) with rate = events ÷
 *   max(tenure, 1 day): the chance of a silence this long if they still bought at their own
 *   Poisson rate (the intuition behind the BG/NBD "alive" probability);
 * - `churned`: `yes` when the customer has no event in (cutoff, cutoff + horizon].
 *
 * Throws a UsageError naming the flag (`--customer`, `--date`, `--amount`, `--cutoff`,
 * `--horizon`, `--cohort-active`) or the row of the log (`--events`) at fault.
 *
 * @example
 *   const snap = buildSnapshot(parseCsv(text), { customer: "customer_id", date: "date", amount: "dollar_value", cutoff: "1997-09-30", horizon: 90, cohortActive: 180 });
 *   writeFileSync("train.csv", snapshotCsv(snap));
 */
export function buildSnapshot(events: Csv, options: SnapshotOptions): Snapshot {
  const cutoff = parseIsoFlag(options.cutoff, "--cutoff");
  if (!Number.isInteger(options.horizon) || options.horizon < 1) throw new UsageError("--horizon", `must be a whole number of days >= 1, got ${options.horizon}`);
  const cohortActive = options.cohortActive ?? null;
  if (cohortActive !== null && (!Number.isInteger(cohortActive) || cohortActive < 1)) {
    throw new UsageError("--cohort-active", `must be a whole number of days >= 1, got ${cohortActive}`);
  }
  // Every row is validated: a bad date anywhere would otherwise silently move a customer in or out of the label window.
  const log = readEventLog(events, { customer: options.customer, date: options.date, amount: options.amount ?? null });
  const byCustomer = log.customers;
  const logFrom = log.from;
  const logTo = log.to;
  const rows = events.rows;

  // A label window running past the end of the log would call every customer who simply has no
  // data yet "churned": refuse rather than write a wrong label.
  if (cutoff + options.horizon > logTo) {
    throw new UsageError(
      "--horizon",
      `the label window ${isoDate(cutoff + 1)}..${isoDate(cutoff + options.horizon)} runs past the log's last event (${isoDate(logTo)}); pick an earlier --cutoff or a shorter --horizon`,
    );
  }
  if (cutoff < logFrom) throw new UsageError("--cutoff", `${options.cutoff} is before the log's first event (${isoDate(logFrom)}); no customer has history yet`);

  const amountName = options.amount ?? "";
  const out: Snapshot["header"] = [options.customer, "recency_days", "tenure_days", "events", "active_days"];
  if (log.hasAmount) out.push(`${amountName}_total`, `${amountName}_mean`);
  for (const w of WINDOWS) out.push(`events_last_${w}d`);
  if (log.hasAmount) for (const w of WINDOWS) out.push(`${amountName}_last_${w}d`);
  out.push("events_trend_90d");
  if (log.hasAmount) out.push(`${amountName}_trend_90d`);
  out.push("mean_gap_days", "overdue_ratio", "silence_prob", LABEL_COLUMN);
  if (out.indexOf(options.customer, 1) > 0) throw new UsageError("--customer", `a customer column named "${options.customer}" clashes with a snapshot column; rename it`);
  const clash = out.find((name, k) => out.indexOf(name) !== k);
  if (clash) throw new UsageError("--amount", `an amount column named "${amountName}" makes two snapshot columns "${clash}"; rename it`);

  const snapshotRows: Snapshot["rows"] = [];
  let eventsUsed = 0;
  let customersSeen = 0;
  let leftOutInactive = 0;
  let notYetCustomers = 0;
  let churned = 0;
  const ids = [...byCustomer.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) {
    const { days, amounts } = byCustomer.get(id) as { days: number[]; amounts: number[] };
    let first = Infinity;
    let last = -Infinity;
    let count = 0;
    let total = 0;
    let amounted = 0;
    const inWindow = WINDOWS.map(() => 0);
    const spendInWindow = WINDOWS.map(() => 0);
    let previous90 = 0;
    let previous90Spend = 0;
    const activeDays = new Set<number>();
    let returned = false;
    for (let k = 0; k < days.length; k++) {
      const day = days[k];
      if (day > cutoff) {
        if (day <= cutoff + options.horizon) returned = true;
        continue; // after the cutoff: label only, never a feature
      }
      const amount = amounts[k];
      const spend = Number.isNaN(amount) ? 0 : amount;
      count++;
      activeDays.add(day);
      if (day < first) first = day;
      if (day > last) last = day;
      if (!Number.isNaN(amount)) {
        total += amount;
        amounted++;
      }
      const age = cutoff - day;
      WINDOWS.forEach((w, i) => {
        if (age <= w) {
          inWindow[i]++;
          spendInWindow[i] += spend;
        }
      });
      if (age > 90 && age <= 180) {
        previous90++;
        previous90Spend += spend;
      }
    }
    if (count === 0) {
      notYetCustomers++;
      continue;
    }
    customersSeen++;
    eventsUsed += count;
    if (cohortActive !== null && cutoff - last > cohortActive) {
      leftOutInactive++;
      continue;
    }
    const sortedDays = [...activeDays].sort((a, b) => a - b);
    const meanGap = sortedDays.length > 1 ? (sortedDays[sortedDays.length - 1] - sortedDays[0]) / (sortedDays.length - 1) : "";
    const row: (string | number)[] = [id, cutoff - last, cutoff - first, count, sortedDays.length];
    if (log.hasAmount) row.push(round(total), amounted ? round(total / amounted) : "");
    row.push(...inWindow);
    if (log.hasAmount) row.push(...spendInWindow.map(round));
    row.push(inWindow[1] - previous90);
    if (log.hasAmount) row.push(round(spendInWindow[1] - previous90Spend));
    const recency = cutoff - last;
    const silence = Math.exp(-(count / Math.max(cutoff - first, 1)) * recency);
    row.push(meanGap === "" ? "" : round(meanGap), meanGap === "" ? "" : round(recency / meanGap), round(silence), returned ? RETAINED : CHURNED);
    if (!returned) churned++;
    snapshotRows.push(row);
  }
  if (snapshotRows.length === 0) {
    throw new UsageError(
      cohortActive !== null ? "--cohort-active" : "--cutoff",
      `no customer qualifies: ${customersSeen} have history by ${options.cutoff}${cohortActive !== null ? `, none with an event in the ${cohortActive} days before it` : ""}`,
    );
  }
  return {
    header: out,
    rows: snapshotRows,
    summary: {
      cutoff: isoDate(cutoff),
      horizon: options.horizon,
      cohortActive,
      logFrom: isoDate(logFrom),
      logTo: isoDate(logTo),
      events: rows.length,
      eventsUsed,
      customersSeen,
      leftOutInactive,
      notYetCustomers,
      customers: snapshotRows.length,
      churned,
      churnRate: churned / snapshotRows.length,
    },
  };
}

// Sums of cents drift (0.1 + 0.2); six decimals keep every real digit and drop the noise.
function round(v: number): number {
  return Number(v.toFixed(6));
}

/**
 * The snapshot as CSV text with a header row, ready for `npm run train`.
 *
 * @example
 *   writeFileSync("train.csv", snapshotCsv(buildSnapshot(log, options)));
 */
export function snapshotCsv(snapshot: Snapshot): string {
  return toCsv(snapshot.header, snapshot.rows);
}

/**
 * The short summary the snapshots CLI prints to stderr.
 *
 * @example
 *   console.error(formatSnapshotSummary(snap.summary));
 *   // snapshot as of 1997-09-30: 7,281 customers, 4,452 churned (61.1%) = no event in the next 90 days ...
 */
export function formatSnapshotSummary(s: SnapshotSummary): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const lines = [
    `snapshot as of ${s.cutoff}: ${n(s.customers)} customers, ${n(s.churned)} churned (${(s.churnRate * 100).toFixed(1)}%) = no event in the next ${s.horizon} days (to ${isoDate(isoDay(s.cutoff) + s.horizon)})`,
    `  log: ${n(s.events)} events ${s.logFrom}..${s.logTo}; features use the ${n(s.eventsUsed)} on or before ${s.cutoff}, later events only set the label`,
    s.cohortActive !== null
      ? `  cohort: customers with an event in the ${s.cohortActive} days up to the cutoff; ${n(s.leftOutInactive)} of ${n(s.customersSeen)} with history left out as inactive`
      : `  cohort: every customer with an event on or before the cutoff (${n(s.customersSeen)}); none left out`,
  ];
  if (s.notYetCustomers) lines.push(`  ${n(s.notYetCustomers)} customers first appear after the cutoff and are not in this snapshot`);
  return lines.join("\n");
}
