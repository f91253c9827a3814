/**
 * A panel of snapshots: the event log's snapshot (training/snapshots.ts) at every N-day cutoff,
 * each built from the events up to its own cutoff only, stacked with an `as_of` column. It is how
 * an event log becomes accounts over time, for `npm run train -- --target trajectory` and the
 * backtest (`npm run snapshots -- --every 30`).
 */
import type { Csv } from "../shared/csv";
import { isoDate, isoDay } from "./dates";
import { buildSnapshot, type Snapshot, type SnapshotOptions } from "./snapshots";

/** The panel's date column: the cutoff each row was taken at. */
export const PANEL_DATE = "as_of";

export interface Panel {
  header: string[];
  rows: (string | number)[][];
  /** Each cutoff's snapshot (rows without `as_of`), oldest first. */
  snapshots: Snapshot[];
}

/**
 * The cutoffs from `first`, every `every` days, while the horizon after each one is inside the
 * log (so every row's label is complete).
 *
 * @example
 *   panelCutoffs("1997-03-31", 30, 90, "1998-06-30"); // ["1997-03-31", "1997-04-30", ..., "1998-03-27"]
 */
export function panelCutoffs(first: string, every: number, horizon: number, logTo: string): string[] {
  const out: string[] = [];
  for (let d = isoDay(first); d + horizon <= isoDay(logTo); d += every) out.push(isoDate(d));
  return out;
}

/**
 * The panel over `cutoffs`: one snapshot per cutoff, the same options otherwise.
 *
 * @example
 *   const panel = buildPanel(log.csv, { customer: "customer_id", date: "date", amount: "amount", cutoff: "1997-03-31", horizon: 90 }, 30);
 */
export function buildPanel(events: Csv, options: SnapshotOptions, every: number): Panel {
  const first = buildSnapshot(events, options);
  const cutoffs = panelCutoffs(options.cutoff, every, options.horizon, first.summary.logTo);
  const snapshots = cutoffs.map((cutoff) => (cutoff === options.cutoff ? first : buildSnapshot(events, { ...options, cutoff })));
  const header = [first.header[0], PANEL_DATE, ...first.header.slice(1)];
  const rows = snapshots.flatMap((s) => s.rows.map((r) => [r[0], s.summary.cutoff, ...r.slice(1)]));
  return { header, rows, snapshots };
}
