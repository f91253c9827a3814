/**
 * `npm run snapshots -- --events FILE --customer COL --date COL [--amount COL] --cutoff DATE
 * --horizon DAYS [--cohort-active DAYS] [--every DAYS] [--out FILE.csv]`: turns a raw event log
 * into one row per customer as of the cutoff, labelled `churned` = yes/no, for `npm run train --
 * --label churned --positive yes --id COL`; with `--every N`, a panel: the snapshot at the cutoff
 * and every N days after it (each from its own past only), with an `as_of` column. The CSV goes
 * to --out or stdout; the summary to stderr.
 */
import { writeFileSync } from "node:fs";
import { readCsvFile } from "../dataset";
import { toCsv } from "../../shared/csv";
import { buildPanel } from "../panel";
import { buildSnapshot, formatSnapshotSummary, parseDaysFlag, snapshotCsv } from "../snapshots";
import { type FlagSpec, parseFlags, runCli, UsageError } from "./args";

const FLAGS = {
  events: { type: "string", required: true, description: "event log CSV with a header row, one row per event (purchase, login, order)" },
  customer: { type: "string", required: true, description: "column holding the customer id" },
  date: { type: "string", required: true, description: "column holding the event date, YYYY-MM-DD" },
  amount: { type: "string", description: "column holding each event's amount, e.g. spend" },
  cutoff: { type: "string", required: true, description: "snapshot date, YYYY-MM-DD: features use events up to and including it" },
  horizon: { type: "string", required: true, description: "days after the cutoff: no event in them means churned, e.g. 90" },
  "cohort-active": { type: "string", description: "keep only customers with an event in this many days up to the cutoff, e.g. 180" },
  every: { type: "string", description: "also a snapshot every this many days after the cutoff, while the horizon fits in the log: a panel with an as_of column" },
  out: { type: "string", description: "CSV file to write (default: stdout)" },
} satisfies FlagSpec;

await runCli("snapshots", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const log = await readCsvFile(flags.events as string, "--events");
  const options = {
    customer: flags.customer as string,
    date: flags.date as string,
    amount: flags.amount ?? null,
    cutoff: flags.cutoff as string,
    horizon: parseDaysFlag(flags.horizon as string, "--horizon"),
    cohortActive: flags["cohort-active"] === undefined ? null : parseDaysFlag(flags["cohort-active"], "--cohort-active"),
  };
  const panel = flags.every === undefined ? null : buildPanel(log.csv, options, parseDaysFlag(flags.every, "--every"));
  const snapshot = panel ? panel.snapshots[0] : buildSnapshot(log.csv, options);
  const text = panel ? toCsv(panel.header, panel.rows) : snapshotCsv(snapshot);
  if (flags.out !== undefined) {
    try {
      writeFileSync(flags.out, text);
    } catch (e) {
      throw new UsageError("--out", `cannot write ${flags.out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else process.stdout.write(text);
  for (const s of panel ? panel.snapshots : [snapshot]) console.error(formatSnapshotSummary(s.summary));
  if (panel) console.error(`panel: ${panel.snapshots.length} cutoffs every ${flags.every} days from ${options.cutoff}, ${panel.rows.length.toLocaleString("en-US")} rows`);
  if (flags.out !== undefined) console.error(`  wrote ${flags.out}: train with --label churned --positive yes --id ${flags.customer}`);
});
