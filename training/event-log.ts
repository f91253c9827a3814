/**
 * Reads a raw event log (one row per purchase, login or order) into each customer's event days
 * and amounts, for the activity forecasts. CSV parsing is `shared/csv.ts`'s and ISO date
 * parsing `training/snapshots.ts`'s `isoDay`, with the snapshot builder's checks and messages;
 * this adds compact `YYYYMMDD` dates, as in Fader & Hardie's original CDNOW file.
 */
import type { Csv } from "../shared/csv";
import { isMissing, toNumber } from "../shared/model/features";
import { listColumns } from "./dataset";
import { UsageError } from "./errors";
import { isoDate, isoDay } from "./dates";

/** Which columns of the log hold what (`--customer`, `--date`, `--amount`). */
export interface EventColumns {
  customer: string;
  date: string;
  amount?: string | null;
}

export interface CustomerEvents {
  /** Event days (days since 1970-01-01), in log order; one per row, so same-day rows repeat. */
  days: number[];
  /** Each row's amount, NaN where blank or when the log has no amount column. */
  amounts: number[];
}

export interface EventLog {
  /** Customers by id, in order of first appearance in the log. */
  customers: Map<string, CustomerEvents>;
  /** First and last event day in the log. */
  from: number;
  to: number;
  /** Event rows read, and whether an amount column was given. */
  events: number;
  hasAmount: boolean;
}

const COMPACT_DATE = /^(\d{4})(\d{2})(\d{2})$/;

/**
 * Days since 1970-01-01 of a date written `YYYY-MM-DD` or `YYYYMMDD`; NaN when it is neither or
 * not a calendar day.
 *
 * @example
 *   eventDay("19970101") === eventDay("1997-01-01"); // true
 */
export function eventDay(text: string): number {
  const t = text.trim();
  const m = COMPACT_DATE.exec(t);
  return isoDay(m ? `${m[1]}-${m[2]}-${m[3]}` : t);
}

/**
 * Parses a date flag such as `--calibration-end` (`YYYY-MM-DD` or `YYYYMMDD`), or throws a
 * UsageError naming it.
 *
 * @example
 *   parseDayFlag("1997-09-30", "--calibration-end"); // 10134
 */
export function parseDayFlag(value: string, flag: string): number {
  const day = eventDay(value);
  if (Number.isNaN(day)) throw new UsageError(flag, `must be a calendar date written YYYY-MM-DD (or YYYYMMDD), got "${value}"`);
  return day;
}

/**
 * Groups the log's rows by customer, validating every row: a bad date anywhere would silently
 * move purchases in or out of a window. Throws a UsageError naming `--customer`, `--date`,
 * `--amount` or the row of `--events` at fault.
 *
 * @example
 *   const log = readEventLog(parseCsv(text), { customer: "customer_id", date: "date", amount: "dollar_value" });
 *   log.customers.get("00002")?.days.length; // 2 (two rows on 1997-01-12)
 */
export function readEventLog(events: Csv, columns: EventColumns): EventLog {
  const { header, rows } = events;
  const column = (flag: string, name: string) => {
    const j = header.indexOf(name);
    if (j < 0) throw new UsageError(flag, `no column named "${name}"; the log's columns are: ${listColumns(header)}`);
    return j;
  };
  const cj = column("--customer", columns.customer);
  const dj = column("--date", columns.date);
  const aj = columns.amount != null ? column("--amount", columns.amount) : -1;
  if (cj === dj) throw new UsageError("--date", "the date column cannot also be the customer column");
  if (aj >= 0 && (aj === cj || aj === dj)) throw new UsageError("--amount", "the amount column must differ from the customer and date columns");
  if (rows.length === 0) throw new UsageError("--events", "the log has a header but no events");

  const customers = new Map<string, CustomerEvents>();
  let from = Infinity;
  let to = -Infinity;
  for (let r = 0; r < rows.length; r++) {
    const line = r + 2; // the header is line 1
    const id = rows[r][cj].trim();
    if (id === "") throw new UsageError("--events", `row ${line}: the customer column "${columns.customer}" is blank`);
    const day = eventDay(rows[r][dj]);
    if (Number.isNaN(day)) {
      throw new UsageError("--events", `row ${line}: "${columns.date}" is ${JSON.stringify(rows[r][dj])}, not a calendar date written YYYY-MM-DD or YYYYMMDD`);
    }
    let amount = NaN;
    if (aj >= 0 && !isMissing(rows[r][aj])) {
      amount = toNumber(rows[r][aj]);
      if (!Number.isFinite(amount)) throw new UsageError("--events", `row ${line}: "${columns.amount}" is ${JSON.stringify(rows[r][aj])}, not a number`);
    }
    let entry = customers.get(id);
    if (!entry) customers.set(id, (entry = { days: [], amounts: [] }));
    entry.days.push(day);
    entry.amounts.push(amount);
    if (day < from) from = day;
    if (day > to) to = day;
  }
  return { customers, from, to, events: rows.length, hasAmount: aj >= 0 };
}

/**
 * Checks a calibration/holdout split against the log: calibration must contain events and the
 * holdout must end by the log's last event (else every quiet customer would look like a
 * forecast miss). Returns the two days; throws a UsageError naming the flag.
 *
 * @example
 *   checkSplit(log, "1997-09-30", "1998-06-30"); // { calibrationEnd: 10134, holdoutEnd: 10407 }
 */
export function checkSplit(log: EventLog, calibrationEnd: string, holdoutEnd: string): { calibrationEnd: number; holdoutEnd: number } {
  const cal = parseDayFlag(calibrationEnd, "--calibration-end");
  const hold = parseDayFlag(holdoutEnd, "--holdout-end");
  if (cal < log.from) throw new UsageError("--calibration-end", `${calibrationEnd} is before the log's first event (${isoDate(log.from)})`);
  if (hold <= cal) throw new UsageError("--holdout-end", `${holdoutEnd} must be after --calibration-end ${calibrationEnd}`);
  if (hold > log.to) {
    throw new UsageError("--holdout-end", `the holdout ${isoDate(cal + 1)}..${isoDate(hold)} runs past the log's last event (${isoDate(log.to)}); pick an earlier --holdout-end`);
  }
  return { calibrationEnd: cal, holdoutEnd: hold };
}
