/**
 * The cold-start scorecard: a transparent churn score for a portfolio with too little history
 * to fit a model (fewer than 200 labelled accounts, or no label at all). It recognises the
 * customer-success signals a CSV usually has by their column names (login days, feature
 * adoption, support tickets, days since the last QBR, days to renewal, contract value) and
 * gives each a weight from stated domain priors instead of from data.
 *
 * The result is an ordinary `model.json` of family `scorecard`: margin = intercept +
 * Σ w_j · (x_j − baseline_j) over standardised columns, the same linear maths as logistic
 * regression, so every score's drivers are exact and read like the rules a CS lead would write.
 */
import { type Csv, csvRecords, toCsv } from "../shared/csv";
import { sha256Hex } from "../shared/hash";
import { buildArtifact, DEFAULT_TIERS, type ModelArtifact } from "../shared/model/artifact";
import { type CsSignal, recogniseSignal, SIGNAL_PRIORS } from "../shared/cs/signals";
import { encodedOwners, type FeatureSpec, isMissing, type NumericFeature, toNumber } from "../shared/model/features";
import { type CsvFile, columnMeans, encodeMatrix, listColumns } from "./dataset";
import { UsageError } from "./errors";
import { type ExcludedColumn, inferFeatures, looksNumeric } from "./infer";
import { versionId } from "./version";

export { type CsSignal, recogniseSignal, SIGNAL_PRIORS } from "../shared/cs/signals";
export { nextAction } from "../shared/cs/wording";

/** Labelled accounts below which no model is trusted and the scorecard scores instead. */
export const MIN_LABELLED_ROWS = 200;

export interface ScorecardOptions {
  /** Label column (`--label`), if the CSV has one; its labelled rows set the base rate. */
  label?: string | null;
  /** The label value meaning churned (`--positive`); required with `label`. */
  positive?: string | null;
  /** Account id column (`--id`): never a signal. */
  id?: string | null;
  /** ARR column (`--arr`): read as contract value even when its name does not say so. */
  arr?: string | null;
  /** File name recorded in the artifact when `csv` is a parsed `Csv` rather than a `CsvFile`. */
  dataFile?: string;
  /** Clock for the version id and `createdAt`; tests pin it. */
  now?: Date;
}

/** Average churn probability when there is no label to learn it from. */
const DEFAULT_BASE_RATE = 0.25;
/** Pseudo-accounts pulling a small portfolio's churn rate toward DEFAULT_BASE_RATE. */
const PRIOR_ACCOUNTS = 4;

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

/**
 * Builds a cold-start scorecard artifact from a CSV of accounts: recognised CS signals get
 * their prior weight (split evenly when several columns carry the same signal), every other
 * usable column is kept as a feature with weight 0 (so the API still accepts it) and named in
 * `rationale` and `metrics.unrecognisedColumns`. Numeric signals are standardised with the
 * CSV's own mean and standard deviation; the intercept puts an average account at the
 * portfolio's churn rate (shrunk toward 25% by four pseudo-accounts) or at 25% with no label.
 * Throws a UsageError naming `--label`, `--positive`, `--id` or `--arr` for a bad option.
 *
 * @example
 *   const artifact = await buildScorecard(await readCsvFile("accounts.csv"), { id: "Customer_ID" });
 *   new Scorer(artifact).score({ Login_Days_Last_30: 8, Support_Tickets_Last_Quarter: 7 }).drivers;
 */
export async function buildScorecard(input: Csv | CsvFile, options: ScorecardOptions = {}): Promise<ModelArtifact> {
  const file = "csv" in input ? input : null;
  const csv = file ? file.csv : (input as Csv);
  const records = file ? file.records : csvRecords(csv);
  const { header } = csv;
  for (const [flag, name] of [["--label", options.label], ["--id", options.id], ["--arr", options.arr]] as const) {
    if (name != null && !header.includes(name)) throw new UsageError(flag, `no column named "${name}"; the CSV's columns are: ${listColumns(header)}`);
  }
  if (options.label != null && options.positive == null) throw new UsageError("--positive", `needed with --label: the value of ${options.label} that means churned`);
  if (options.id != null && options.id === options.label) throw new UsageError("--id", "the id column cannot also be the label");

  // Labels are optional here: a handful of rows may all be renewals, which is no error.
  let labelled = 0;
  let positives = 0;
  if (options.label != null) {
    const j = header.indexOf(options.label);
    const want = String(options.positive).trim().toLowerCase();
    const wantNumber = /^[-+]?(\d+\.?\d*|\.\d+)$/.test(want) ? Number(want) : NaN;
    for (const row of csv.rows) {
      if (isMissing(row[j])) continue;
      labelled++;
      const v = row[j].trim().toLowerCase();
      if (v === want || (!Number.isNaN(wantNumber) && Number(v) === wantNumber)) positives++;
    }
  }
  const baseRate = labelled > 0 ? (positives + DEFAULT_BASE_RATE * PRIOR_ACCOUNTS) / (labelled + PRIOR_ACCOUNTS) : DEFAULT_BASE_RATE;
  const reason =
    options.label == null
      ? "no label column"
      : labelled === 0
        ? `no labelled rows (every value of ${options.label} is blank)`
        : labelled < MIN_LABELLED_ROWS
          ? `${labelled} labelled row${labelled === 1 ? "" : "s"}; at least ${MIN_LABELLED_ROWS} are needed before a model is trusted`
          : `${labelled} labelled rows would be enough to train a model; this scorecard was built on request from domain priors`;

  // Ordinary type inference decides what the columns the scorecard does not know are, so the
  // artifact accepts them at the API exactly as a trained model would.
  // A label name no CSV header can have stands in when there is no label.
  const inference = inferFeatures(csv, { label: options.label ?? "\u0000(no label)", id: options.id ?? null });
  const inferred = new Map(inference.features.map((f) => [f.name, f]));
  const excludedColumns: ExcludedColumn[] = [];
  const features: FeatureSpec[] = [];
  const signals: (CsSignal | null)[] = [];
  const notes = new Map<string, string>();
  for (const [j, name] of header.entries()) {
    if (name === options.label) {
      excludedColumns.push({ name, reason: "the label (--label)" });
      continue;
    }
    if (name === options.id) {
      excludedColumns.push({ name, reason: "the account id (--id)" });
      continue;
    }
    const signal = name === options.arr ? (recogniseSignal(name) ?? "contractValue") : recogniseSignal(name);
    if (signal) {
      const present = csv.rows.map((r) => r[j]).filter((v) => !isMissing(v));
      const numbers = present.filter(looksNumeric).map(toNumber);
      if (present.length > 0 && numbers.length / present.length >= 0.95) {
        features.push(numericSignal(name, numbers));
        signals.push(signal);
        continue;
      }
      notes.set(name, `looks like ${SIGNAL_PRIORS[signal].words} by its name, but only ${numbers.length} of ${present.length} filled values are numbers`);
    }
    const f = inferred.get(name);
    if (f) {
      features.push(f.kind === "numeric" ? withoutLog(f) : f);
      signals.push(null);
    } else {
      const why = inference.excludedColumns.find((e) => e.name === name)?.reason ?? "not usable";
      excludedColumns.push({ name, reason: notes.has(name) ? `${notes.get(name)}; ${why}` : why });
    }
  }
  if (!signals.some((s) => s !== null)) {
    const known = Object.values(SIGNAL_PRIORS).map((p) => p.words).join("; ");
    throw new UsageError("--data", `no column reads as a customer-success signal the scorecard knows (${known}); columns: ${listColumns(header)}`);
  }

  // Several columns carrying one signal (logins last 7 and last 30 days) share its prior rather
  // than counting it twice.
  const perSignal = new Map<CsSignal, number>();
  for (const s of signals) if (s) perSignal.set(s, (perSignal.get(s) ?? 0) + 1);
  const owners = encodedOwners(features);
  const weights = Array.from(owners, (i) => {
    const s = signals[i];
    return s ? SIGNAL_PRIORS[s].weight / (perSignal.get(s) ?? 1) : 0;
  });
  const matrix = encodeMatrix(features, records);
  // Weighted columns are standardised and filled with their mean, so their mean is 0 up to
  // rounding; pinning it to exactly 0 makes intercept + w·x and intercept + w·(x − baseline)
  // the same number, whichever way a scorer reads the margin.
  const baseline = columnMeans(matrix).map((b, j) => (weights[j] !== 0 && Math.abs(b) < 1e-9 ? 0 : b));
  let intercept = logit(baseRate);
  for (let j = 0; j < weights.length; j++) intercept -= weights[j] * baseline[j];

  const rationale: Record<string, string> = {};
  const unrecognisedColumns: string[] = [];
  features.forEach((f, i) => {
    const s = signals[i];
    if (s) {
      const prior = SIGNAL_PRIORS[s];
      const w = prior.weight / (perSignal.get(s) ?? 1);
      const sd = (f as NumericFeature).std;
      const direction = w < 0 ? `a lower ${f.name} than the portfolio average raises risk` : `a higher ${f.name} than the portfolio average raises risk`;
      const shared = (perSignal.get(s) ?? 1) > 1 ? ` (the signal's ${prior.weight} is shared by ${perSignal.get(s)} columns)` : "";
      rationale[f.name] =
        `${f.name} is read as ${prior.words}: ${direction}, because ${prior.because}. ` +
        `Prior weight ${w.toFixed(2)} on the churn log-odds per standard deviation (${fmt(sd)})${shared}.`;
    } else {
      unrecognisedColumns.push(f.name);
      rationale[f.name] =
        `${f.name} is not a signal the cold-start scorecard knows${notes.has(f.name) ? ` (${notes.get(f.name)})` : ""}, so it carries no weight (0); ` +
        "a model trained on labelled history will learn whether it matters.";
    }
  });

  const now = options.now ?? new Date();
  const dataSha256 = file ? file.sha256 : await sha256Hex(toCsv(csv.header, csv.rows));
  return buildArtifact({
    version: versionId("churn", now, await sha256Hex(`${dataSha256}:scorecard:${intercept}:${weights.join(",")}`)),
    createdAt: now.toISOString(),
    target: "churn",
    label: { column: options.label ?? "", positive: options.positive ?? "" },
    idColumn: options.id ?? null,
    arrColumn: options.arr ?? null,
    features,
    baseline,
    model: { family: "scorecard", intercept, weights, rationale, reason },
    tiers: { ...DEFAULT_TIERS },
    metrics: {
      method: "scorecard",
      reason,
      labelledRows: labelled,
      positives,
      baseRate,
      recognisedColumns: features.flatMap((f, i) => (signals[i] ? [{ column: f.name, signal: signals[i], weight: SIGNAL_PRIORS[signals[i] as CsSignal].weight / (perSignal.get(signals[i] as CsSignal) ?? 1) }] : [])),
      unrecognisedColumns,
    },
    training: {
      dataSha256,
      dataFile: file ? file.path.split(/[\\/]/).pop() ?? file.path : (options.dataFile ?? "data.csv"),
      rows: csv.rows.length,
      positives,
      holdoutRows: 0,
      seed: 0,
      excludedColumns,
    },
  });
}

/** Plain standardised numerics only: the scorecard's weights are per standard deviation. */
function withoutLog(f: NumericFeature): NumericFeature {
  const { name, kind, mean, std, fill } = f;
  return { name, kind, mean, std, fill };
}

/** A recognised numeric signal, standardised by the portfolio's own spread. */
function numericSignal(name: string, numbers: number[]): NumericFeature {
  const mean = numbers.reduce((a, v) => a + v, 0) / numbers.length;
  const sd = Math.sqrt(numbers.reduce((a, v) => a + (v - mean) ** 2, 0) / numbers.length);
  // A missing signal is read as the average account's, so it moves no score (the median would
  // quietly move it, since the weight is not zero).
  return { name, kind: "numeric", mean, std: sd > 1e-12 ? sd : 1, fill: mean };
}
