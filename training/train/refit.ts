/**
 * The refit step of training: once the hold-out has measured the recipe, the shipped model is
 * the same recipe refit on every labelled row, so no history is wasted (unless `--no-refit`).
 */
import { type Fitted, fitRecipe, type Selection } from "../select";
import type { TrainingData } from "./load";
import type { TrainOptions } from "./types";

/** The model to ship and the CSV rows it was fitted on. */
export interface Shipped {
  fitted: Fitted;
  rows: number[];
}

/**
 * The recipe refit on all labelled rows, or (with `refit: false`) the hold-out's own model.
 *
 * @example
 *   const shipped = await refit(data, selection, measured.fitted, { data: "telco.csv" });
 *   shipped.rows.length; // every labelled row
 */
export async function refit(data: TrainingData, selection: Selection, measured: Fitted, options: TrainOptions): Promise<Shipped> {
  if (options.refit === false) return { fitted: measured, rows: data.trainIdx };
  const { labels } = data;
  return { fitted: await fitRecipe(selection.recipe, data.input, labels.rows, labels.y, undefined, selection.rounds), rows: labels.rows };
}
