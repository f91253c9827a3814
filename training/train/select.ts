/**
 * The select step of training: cross-validation of the candidate recipes on the training rows
 * only (the hold-out stays untouched), within the time budget, picking the recipe to ship.
 */
import { type Selection, selectModel } from "../select";
import type { TrainingData } from "./load";
import type { TrainOptions } from "./types";

/**
 * Runs model selection with the train options' folds, budget, seed and family.
 *
 * @example
 *   const selection = await select(data, { data: "telco.csv", budget: 60 });
 *   selection.recipe.name; // e.g. "logistic (L2 1e-4)"
 */
export function select(data: TrainingData, options: TrainOptions): Promise<Selection> {
  const { split, times } = data;
  // With --time the folds are time blocks too: each is validated by a model of older rows.
  const timeOrder = times ? [...split.train.keys()].sort((a, b) => times[split.train[a]] - times[split.train[b]]) : undefined;
  return selectModel(data.input, data.trainIdx, data.yTrain, {
    folds: options.folds ?? 5,
    budgetSeconds: options.budget ?? 120,
    seed: data.seed,
    timeOrder,
    family: options.family,
    onProgress: options.onProgress,
  });
}
