/**
 * Evaluates a saved model on a labelled CSV with the plain-TS `Scorer` the Worker runs (no
 * tfjs), so the numbers describe exactly what production will compute.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { brier, logLoss, prAuc, rocAuc } from "../shared/metrics";
import type { ModelArtifact } from "../shared/model/artifact";
import { Scorer } from "../shared/model/scorer";
import { sha256Hex } from "../shared/hash";
import { parseLabels, readCsvFile } from "./dataset";
import { calibrationReport, intervalCoverage } from "./calibrate";
import { UsageError } from "./errors";
import { type HistoryEntry, renderReport } from "./html-report";
import { count, fixed, formatPairs, formatQuality, formatTiers, percent, type TierRow, tierTable } from "./report";

export interface LoadedModel {
  path: string;
  artifact: ModelArtifact;
  scorer: Scorer;
  sha256: string;
  /** True when a `model.json.sha256` file sat next to the model and matched it. */
  checksumVerified: boolean;
}

/**
 * Loads `model.json` from a directory (or a direct file path), checks it against
 * `model.json.sha256` when that file exists, and builds its scorer. Throws a UsageError
 * naming `flag` for a missing, corrupted or malformed model.
 *
 * @example
 *   const { scorer, checksumVerified } = await loadModel("models/m1");
 */
export async function loadModel(pathOrDir: string, flag = "--model"): Promise<LoadedModel> {
  const path = existsSync(pathOrDir) && statSync(pathOrDir).isDirectory() ? join(pathOrDir, "model.json") : pathOrDir;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new UsageError(flag, `no model at ${path}; pass the directory train --out wrote`);
  }
  const sha256 = await sha256Hex(bytes);
  let checksumVerified = false;
  if (existsSync(`${path}.sha256`)) {
    const expected = readFileSync(`${path}.sha256`, "utf8").trim().split(/\s+/)[0];
    if (expected !== sha256) throw new UsageError(flag, `${path} does not match ${path}.sha256 (file changed or corrupted)`);
    checksumVerified = true;
  }
  let scorer: Scorer;
  try {
    scorer = Scorer.fromJSON(bytes.toString("utf8"));
  } catch (e) {
    throw new UsageError(flag, `${path}: ${(e as Error).message}`);
  }
  return { path, artifact: scorer.artifact, scorer, sha256, checksumVerified };
}

export interface EvaluateOptions {
  /** Model directory (or model.json path) (`--model`). */
  model: string;
  /** Labelled CSV to score (`--data`). */
  data: string;
  /** Label column and churn value; default to the ones the model was trained with. */
  label?: string;
  positive?: string;
  /** Where to write the HTML report: default `report.html` next to the model; false for none. */
  report?: string | false;
  /** The report's "Model history" (`training/history.ts` reads it): where from, and its entries newest first. */
  history?: { source: string; entries: HistoryEntry[] };
}

export interface Evaluation {
  modelVersion: string;
  dataFile: string;
  dataSha256: string;
  label: { column: string; positive: string };
  /** Rows scored (those with a label), and rows skipped because the label was missing. */
  rows: number;
  skippedMissingLabel: number;
  positives: number;
  baseRate: number;
  auc: number;
  prAuc: number;
  brier: number;
  logLoss: number;
  /** Expected calibration error (10 bins) and the share of intervals holding their band's churn rate. */
  ece: number;
  intervalCoverage: number | null;
  tiers: TierRow[];
  /** Mean |SHAP| per column: which signals move these scores most. */
  importance: { feature: string; meanAbs: number }[];
  /** Path of the HTML report written, if any. */
  reportPath: string | null;
  /** Model features with no column in the data: imputed for every row. */
  missingColumns: string[];
  /** Rows where at least one feature was missing or unreadable and was imputed. */
  rowsWithImputation: number;
  /** The "Model history" entries, newest first, when asked for (`--history`). */
  history: HistoryEntry[] | null;
  ms: number;
}

/**
 * Scores every labelled row of `data` with the model and measures ROC-AUC, PR-AUC, Brier,
 * log loss and the risk-tier table.
 *
 * @example
 *   const e = await evaluate({ model: "models/m1", data: "holdout.csv" });
 *   e.auc; // e.g. 0.84
 */
export async function evaluate(options: EvaluateOptions): Promise<Evaluation> {
  const started = performance.now();
  const model = await loadModel(options.model);
  const { artifact, scorer } = model;
  const file = await readCsvFile(options.data, "--data");
  const column = options.label ?? artifact.label.column;
  const positive = options.positive ?? artifact.label.positive;
  if (options.label === undefined && !file.csv.header.includes(column)) {
    throw new UsageError("--label", `the data has no "${column}" column (the label the model was trained on); pass --label and --positive`);
  }
  const labels = parseLabels(file.csv, column, positive);
  const probabilities = new Float64Array(labels.rows.length);
  const intervals: [number, number][] = [];
  const importance = new Map<string, number>();
  let rowsWithImputation = 0;
  labels.rows.forEach((i, k) => {
    const s = scorer.score(file.records[i], Infinity);
    probabilities[k] = s.churnProbability;
    intervals.push(s.interval);
    for (const d of s.drivers) importance.set(d.feature, (importance.get(d.feature) ?? 0) + Math.abs(d.contribution));
    if (s.imputed.length) rowsWithImputation++;
  });
  const calibration = calibrationReport(probabilities, labels.y);
  const tiers = tierTable(labels.y, probabilities, artifact.tiers);
  const result: Evaluation = {
    modelVersion: artifact.version,
    dataFile: options.data,
    dataSha256: file.sha256,
    label: { column, positive },
    rows: labels.rows.length,
    skippedMissingLabel: labels.missing,
    positives: labels.positives,
    baseRate: labels.positives / labels.rows.length,
    auc: rocAuc(labels.y, probabilities),
    prAuc: prAuc(labels.y, probabilities),
    brier: brier(labels.y, probabilities),
    logLoss: logLoss(labels.y, probabilities),
    ece: calibration.ece,
    intervalCoverage: artifact.calibration ? intervalCoverage(artifact.calibration, probabilities, intervals, labels.y).coverage : null,
    tiers,
    importance: [...importance].map(([feature, v]) => ({ feature, meanAbs: v / labels.rows.length })).sort((a, b) => b.meanAbs - a.meanAbs),
    reportPath: null,
    missingColumns: artifact.features.map((f) => f.name).filter((n) => !file.csv.header.includes(n)),
    rowsWithImputation,
    history: options.history?.entries ?? null,
    ms: 0,
  };
  if (options.report !== false) {
    const path = options.report ?? join(dirname(model.path), "report.html");
    writeFileSync(
      path,
      renderReport({
        title: `Foresight evaluation: ${artifact.label.column || "churn"} on ${options.data.split("/").pop()}`,
        modelVersion: artifact.version,
        family: artifact.model.family,
        dataFile: options.data,
        rows: result.rows,
        positives: result.positives,
        metrics: { auc: result.auc, prAuc: result.prAuc, brier: result.brier, logLoss: result.logLoss, ece: result.ece, intervalCoverage: result.intervalCoverage ?? NaN },
        y: labels.y,
        p: probabilities,
        reliability: calibration.table,
        tiers: tiers.map((t) => ({ tier: t.tier, range: t.range, accounts: t.accounts, share: t.share, churned: t.positives, precision: t.precision ?? NaN, recall: t.recall ?? NaN })),
        thresholds: artifact.tiers,
        importance: result.importance,
        generatedAt: new Date().toISOString(),
        history: options.history,
      }),
    );
    result.reportPath = path;
  }
  result.ms = performance.now() - started;
  return result;
}

/** The evaluation as the text table the evaluate CLI prints without `--json`. */
export function formatEvaluation(e: Evaluation): string {
  const out: string[] = [];
  out.push(`Evaluation of model ${e.modelVersion}`);
  out.push(
    formatPairs([
      ["data", `${e.dataFile} (sha256 ${e.dataSha256.slice(0, 12)}...)`],
      ["label", `${e.label.column} = "${e.label.positive}" is churn`],
      ["rows", `${count(e.rows)} scored${e.skippedMissingLabel ? `, ${count(e.skippedMissingLabel)} skipped for a missing label` : ""}`],
      ["positives", `${count(e.positives)} (base rate ${percent(e.baseRate)})`],
      ["imputed", `${count(e.rowsWithImputation)} rows had a missing signal filled in`],
    ]),
  );
  if (e.missingColumns.length) out.push(`  warning: the data has no column for ${e.missingColumns.join(", ")}; imputed for every row`);
  out.push("");
  out.push(formatQuality(e));
  out.push("");
  out.push("Risk tiers");
  out.push(formatTiers(e.tiers));
  out.push("");
  out.push(`Calibration: ECE ${fixed(e.ece, 3)}${e.intervalCoverage != null ? `; ${percent(e.intervalCoverage)} of cohorts of 100 similar accounts churned at a rate inside their 90% interval` : ""}`);
  out.push(`Scored in ${fixed(e.ms / 1000, 2)} s with the plain-TS scorer.`);
  if (e.reportPath) out.push(`Report: ${e.reportPath}`);
  return out.join("\n");
}
