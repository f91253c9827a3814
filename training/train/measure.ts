/**
 * The measure step of training: the chosen recipe fitted on the training rows and measured
 * once on the untouched hold-out, through the same plain-TS scorer the Worker runs, with the
 * calibration and tiers fitted out of fold.
 */
import { brier, logLoss, prAuc, rocAuc } from "../../shared/metrics";
import type { Score } from "../../shared/model/scorer";
import { calibrationReport, intervalCoverage } from "../calibrate";
import { type TierRow, tierTable } from "../report";
import { type Fitted, fitRecipe, scorerFor, type Selection } from "../select";
import type { OutOfFold } from "./calibrate";
import type { TrainingData } from "./load";
import type { TrainSummary } from "./types";

/** The hold-out's verdict on the recipe, and the model fitted on the training rows. */
export interface Measurement {
  /** The recipe fitted on the training rows only. */
  fitted: Fitted;
  /** Calibrated churn probabilities of the hold-out rows, in `holdIdx` order. */
  probabilities: Float64Array;
  holdout: TrainSummary["holdout"];
  reliability: TrainSummary["calibration"]["table"];
  tiers: TierRow[];
  importance: TrainSummary["importance"];
}

/**
 * Fits the selected recipe on the training rows and scores the hold-out with it.
 *
 * @example
 *   const m = await measure(data, selection, oof);
 *   m.holdout.auc; // e.g. 0.85
 */
export async function measure(data: TrainingData, selection: Selection, oof: OutOfFold): Promise<Measurement> {
  const { yHold } = data;
  const fitted = await fitRecipe(selection.recipe, data.input, data.trainIdx, data.yTrain, undefined, selection.rounds);
  const scorer = scorerFor(fitted, oof.calibration, oof.tiers);
  const scores = data.holdIdx.map((i) => scorer.score(data.file.records[i], Infinity));
  const probabilities = Float64Array.from(scores, (s) => s.churnProbability);
  const calibrationCheck = calibrationReport(probabilities, yHold);
  const coverage = intervalCoverage(oof.calibration, probabilities, scores.map((s) => s.interval), yHold);
  return {
    fitted,
    probabilities,
    holdout: {
      auc: rocAuc(yHold, probabilities),
      prAuc: prAuc(yHold, probabilities),
      brier: brier(yHold, probabilities),
      logLoss: logLoss(yHold, probabilities),
      baseRate: data.holdoutPositives / yHold.length,
      ece: calibrationCheck.ece,
      intervalCoverage: coverage.coverage,
      intervalWidth: coverage.meanWidth,
    },
    reliability: calibrationCheck.table,
    tiers: tierTable(yHold, probabilities, oof.tiers),
    importance: globalImportance(scores),
  };
}

/** Mean |SHAP| per user column over the hold-out: which signals move scores most. */
function globalImportance(scores: Score[]): { feature: string; meanAbs: number }[] {
  const sums = new Map<string, number>();
  for (const s of scores) for (const d of s.drivers) sums.set(d.feature, (sums.get(d.feature) ?? 0) + Math.abs(d.contribution));
  return [...sums].map(([feature, v]) => ({ feature, meanAbs: v / scores.length })).sort((a, b) => b.meanAbs - a.meanAbs);
}
