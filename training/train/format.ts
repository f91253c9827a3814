/**
 * What the train CLI prints: a trained model's validation summary (data, features, model
 * selection, hold-out quality, reliability, tiers, top signals), or a cold-start scorecard's
 * weights and why no model was fitted.
 */
import { formatDiff } from "../history";
import { count, fixed, formatPairs, formatQuality, formatTable, formatTiers, percent } from "../report";
import type { TrainResult, TrainSummary } from "./types";

/**
 * What the train CLI prints: the validation summary, or the scorecard's weights and why.
 *
 * @example
 *   console.log(formatTrainResult(await train({ data: "telco.csv", label: "Churn", positive: "Yes", out: "models/m1" })));
 */
export function formatTrainResult(r: TrainResult): string {
  if (r.summary) return formatTrainSummary(r.summary);
  const a = r.artifact;
  const m = a.model;
  if (m.family !== "scorecard") return `Wrote ${a.version}`;
  const owners = a.features.flatMap((f) => (f.kind === "categorical" ? f.levels.map(() => f.name) : f.kind === "numeric" && f.log ? [f.name, f.name] : [f.name]));
  const weights = new Map<string, number>();
  owners.forEach((name, j) => weights.set(name, (weights.get(name) ?? 0) + m.weights[j]));
  const out = [
    `Foresight cold-start scorecard ${a.version}`,
    `No ML model was fitted: ${m.reason}.`,
    "Scores come from stated domain priors on recognisable customer-success signals; every weight is shown below.",
    "",
    formatTable(
      ["signal", "weight (log-odds per sd)", "why"],
      [...weights].map(([name, w]) => [name, fixed(w, 2), m.rationale[name] ?? ""]),
      [false, true, false],
    ),
    "",
    `Tiers: red ≥ ${a.tiers.red}, yellow ≥ ${a.tiers.yellow}. Record outcomes and retrain once 200 accounts are labelled.`,
  ];
  if (r.scorecard?.modelPath) out.push(`Wrote ${r.scorecard.modelPath} (sha256 ${r.scorecard.modelSha256}) and ${r.scorecard.modelPath}.sha256`);
  return out.join("\n");
}

/**
 * The training summary as the text table the train CLI prints.
 *
 * @example
 *   const { summary } = await train({ data: "telco.csv", label: "Churn", positive: "Yes" });
 *   if (summary) console.log(formatTrainSummary(summary));
 */
export function formatTrainSummary(s: TrainSummary): string {
  const out: string[] = [];
  const labelValues = s.label.values.slice(0, 6).map((v) => `${v.value} ${count(v.count)}`).join(", ");
  out.push(`Foresight model ${s.version}`);
  const [noun, past] = s.target === "expansion" ? ["expansion", "expanded"] : ["churn", "churned"];
  out.push(
    formatPairs([
        ["data", `${s.dataFile} (sha256 ${s.dataSha256.slice(0, 12)}...)`],
        ...(s.dateRange ? [["dates", `${s.dateRange.column} from ${s.dateRange.from} to ${s.dateRange.to}`] as [string, string]] : []),
        ["label", `${s.label.column} = "${s.label.positive}" is ${noun} (values: ${labelValues})`],
        ["rows", `${count(s.rows)} labelled${s.droppedMissingLabel ? `, ${count(s.droppedMissingLabel)} dropped for a missing label` : ""}`],
        ["positives", `${count(s.positives)} (base rate ${percent(s.baseRate)})`],
        ["split", `${count(s.trainRows)} train / ${count(s.holdoutRows)} hold-out (${s.split})`],
        ["horizon", `${s.horizonDays} days: monitoring judges each score against the outcomes in the ${s.horizonDays} days after it`],
    ]),
  );
  const used = s.columns.filter((c) => c.kind !== "excluded");
  out.push("");
  out.push(
    `Features: ${used.length} columns -> ${s.encodedColumns} model inputs ` +
      `(${s.featureCounts.numeric} numeric, ${s.featureCounts.boolean} boolean, ${s.featureCounts.categorical} categorical)`,
  );
  out.push(formatTable(["column", "type", "detail"], used.map((c) => [c.name, c.kind, c.detail])));
  if (s.excludedColumns.length) {
    out.push("");
    out.push(`Excluded columns: ${s.excludedColumns.length}`);
    out.push(formatTable(["column", "reason"], s.excludedColumns.map((e) => [e.name === "" ? '""' : e.name, e.reason])));
  }
  if (s.leakage.length) {
    out.push("");
    out.push("Leakage warnings (a single column predicts the label almost perfectly: is it known before the outcome?)");
    out.push(formatTable(["column", "ROC-AUC alone", "why"], s.leakage.map((w) => [w.column, fixed(w.auc, 3), w.reason])));
  }
  out.push("");
  out.push(`Model selection (${s.folds}-fold cross-validation on the ${count(s.trainRows)} training rows; out-of-fold, before calibration)`);
  out.push(
    formatTable(
      ["candidate", "ROC-AUC", "PR-AUC", "log loss", "seconds", "drivers"],
      s.leaderboard.map((r) => [`${r.name === s.chosen ? "* " : "  "}${r.name}`, fixed(r.auc, 4), fixed(r.prAuc, 3), fixed(r.logLoss, 4), r.seconds.toFixed(1), r.exact ? "exact SHAP" : "approximate"]),
      [false, true, true, true, true, false],
    ),
  );
  out.push(`  * shipped: ${s.chosen}, the simplest candidate within one standard error (fold by fold) of the best ROC-AUC`);
  if (s.skipped.length) out.push(`  skipped for the time budget: ${s.skipped.join("; ")}`);
  out.push("");
  out.push(`Hold-out quality (${count(s.holdoutRows)} accounts, ${count(s.holdoutPositives)} ${past}; ${s.calibration.method} calibration)`);
  out.push(formatQuality(s.holdout));
  out.push(
    formatPairs([
      ["ECE", `${fixed(s.holdout.ece, 3)} expected calibration error (mean |predicted − observed| over 10 bins)`],
      ["intervals", `${percent(s.holdout.intervalCoverage)} of hold-out cohorts of 100 similar accounts ${past} at a rate inside their 90% interval (mean width ${fixed(s.holdout.intervalWidth, 3)})`],
    ]),
  );
  out.push("");
  out.push("Reliability on the hold-out");
  out.push(
    formatTable(
      ["predicted", "accounts", "mean predicted", `observed ${noun}`],
      s.calibration.table.map((b) => [`${fixed(b.from, 1)}-${fixed(b.to, 1)}`, count(b.n), percent(b.meanPredicted), percent(b.observed)]),
      [false, true, true, true],
    ),
  );
  out.push("");
  out.push(`Risk tiers on the hold-out (red ≥ ${fixed(s.thresholds.red, 3)}, yellow ≥ ${fixed(s.thresholds.yellow, 3)})`);
  if (s.redPrecisionTarget != null) {
    out.push(
      s.thresholds.red < 1
        ? `  --red-precision ${s.redPrecisionTarget}: red starts at ${fixed(s.thresholds.red, 3)}, where out-of-fold precision is ${percent(s.redOof.precision)}; red covers ${percent(s.redOof.share)} of accounts and ${percent(s.redOof.recall)} of churners`
        : `  --red-precision ${s.redPrecisionTarget}: no threshold reaches that precision out of fold; red is empty`,
    );
  }
  if (s.readyThreshold != null) {
    out.push(`  expansion-ready at p ≥ ${fixed(s.readyThreshold, 3)} (the threshold with the best out-of-fold F1), and only while churn risk is below 0.40`);
  } else out.push(formatTiers(s.tiers));
  out.push("");
  out.push("Signals that move scores most (mean |SHAP| on the hold-out, log-odds)");
  out.push(formatTable(["column", "mean |contribution|"], s.importance.slice(0, 10).map((d) => [d.feature, fixed(d.meanAbs, 3)]), [false, true]));
  out.push("");
  out.push(`Trained in ${(s.totalMs / 1000).toFixed(1)} s. model.json is ${(s.modelBytes / 1024).toFixed(1)} KiB${s.treeBytesBase64 ? `, of which the tree arrays take ${(s.treeBytesBase64 / 1024).toFixed(1)} KiB of base64` : ""}.`);
  out.push(
    s.refitRows
      ? `The hold-out measured the recipe; the shipped model is the same recipe refit on all ${count(s.refitRows)} labelled rows.`
      : `The shipped model is the one fitted on the ${count(s.trainRows)} training rows (--no-refit).`,
  );
  if (s.modelPath) out.push(`Wrote ${s.modelPath} (sha256 ${s.modelSha256}) and ${s.modelPath}.sha256`);
  if (s.againstActive) {
    out.push("");
    out.push(`Against the active model: ${s.againstActive.note}`);
    if (s.againstActive.diff) out.push(formatDiff(s.againstActive.diff));
  }
  return out.join("\n");
}
