/**
 * What an artifact records about the run that trained it, beyond its metrics: the `--time` range
 * of the data, the recipe with its effective hyperparameters, how the hold-out was drawn and every
 * signal by mean |SHAP| on it. The model's evolution log (`shared/model/changelog.ts`) compares
 * these between versions.
 */
import type { DateRange, ModelArtifact, RecipeFacts } from "../../shared/model/artifact";
import { DEFAULT_GBDT_OPTIONS } from "../gbdt";
import { DEFAULT_FIT_OPTIONS } from "../logistic";
import { DEFAULT_MLP_OPTIONS } from "../mlp";
import type { Recipe, Selection } from "../select";
import type { TrainingData } from "./load";
import type { Measurement } from "./measure";
import type { TrainOptions } from "./types";

/** The training facts of a run, as `ModelArtifact["training"]` holds them. */
export type TrainingFacts = Required<Pick<ModelArtifact["training"], "dateRange" | "recipe" | "holdout" | "importance">>;

/**
 * The facts of one run, for the artifact's `training` block.
 *
 * @example
 *   const facts = trainingFacts(data, selection, measured, options);
 *   facts.holdout; // { method: "stratified", fraction: 0.2, seed: 42, timeColumn: null, rows: 1409, positives: 374 }
 */
export function trainingFacts(data: TrainingData, selection: Selection, measured: Measurement, options: TrainOptions): TrainingFacts {
  const time = options.time ?? null;
  const all = data.labels.rows.map((_, k) => k);
  return {
    dateRange: time ? timeRange(data, time, all) : null,
    recipe: recipeFacts(selection.recipe, selection.rounds),
    holdout: {
      method: time ? "newest" : "stratified",
      fraction: data.holdoutFraction,
      seed: data.seed,
      timeColumn: time,
      rows: data.holdIdx.length,
      positives: data.holdoutPositives,
      ...(time ? { range: timeRange(data, time, data.split.holdout) } : {}),
    },
    importance: measured.importance.map((s) => ({ name: s.feature, meanAbsShap: s.meanAbs })),
  };
}

/**
 * A recipe's family, name and effective settings: the trainer's defaults under the recipe's own,
 * with the fixed round count a tree model is refit with.
 *
 * @example
 *   recipeFacts({ family: "logistic", name: "logistic (L2 1e-2)", options: { l2: 1e-2 } }).hyperparameters?.l2; // 0.01
 */
export function recipeFacts(recipe: Recipe, rounds?: number): RecipeFacts {
  return { family: recipe.family, name: recipe.name, hyperparameters: settings(recipe, rounds) };
}

function settings(recipe: Recipe, rounds?: number): Record<string, unknown> {
  if (recipe.family === "logistic") return { ...DEFAULT_FIT_OPTIONS, ...recipe.options };
  if (recipe.family === "mlp") return { ...DEFAULT_MLP_OPTIONS, ...recipe.options };
  if (recipe.family === "gbdt") return { ...DEFAULT_GBDT_OPTIONS, ...recipe.options, ...(rounds ? { rounds, earlyStoppingRounds: 0 } : {}) };
  return { weight: recipe.weight, linear: recipeFacts(recipe.linear), trees: recipeFacts(recipe.trees, rounds) };
}

/** The oldest and newest `--time` values (as written in the CSV) among the labelled-row positions given. */
function timeRange(data: TrainingData, column: string, positions: number[]): DateRange | null {
  const times = data.times;
  if (!times || positions.length === 0) return null;
  let lo = positions[0];
  let hi = positions[0];
  for (const k of positions) {
    if (times[k] < times[lo]) lo = k;
    if (times[k] > times[hi]) hi = k;
  }
  const j = data.file.csv.header.indexOf(column);
  const cell = (k: number) => data.file.csv.rows[data.labels.rows[k]][j].trim();
  return { column, from: cell(lo), to: cell(hi) };
}
