/**
 * Training's answer to too little labelled history: a transparent cold-start scorecard (no
 * model is fitted), with the horizon and drift reference a trained model would carry, written
 * like one.
 */
import { basename } from "node:path";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import { buildReference } from "../../shared/model/reference";
import { Scorer } from "../../shared/model/scorer";
import type { CsvFile } from "../dataset";
import { buildScorecard } from "../scorecard";
import type { TrainOptions, TrainResult } from "./types";
import { write } from "./write";

/**
 * Builds, writes and explains a cold-start scorecard for `file`, which has `labelled` labelled rows.
 *
 * @example
 *   const r = await coldStart(await readCsvFile("accounts.csv"), { data: "accounts.csv", out: "models/m0" }, 0);
 *   r.scorecard?.reason; // e.g. "no label column"
 */
export async function coldStart(file: CsvFile, options: TrainOptions, labelled: number): Promise<TrainResult> {
  const scorecard = await buildScorecard(file, { label: options.label, positive: options.positive, id: options.id, arr: options.arr, dataFile: basename(options.data), now: options.now });
  const scorer = new Scorer(scorecard);
  const artifact = {
    ...scorecard,
    horizonDays: options.horizon ?? DEFAULT_HORIZON_DAYS,
    // A scorecard is not fitted, so its probabilities on the CSV are as good as out of fold.
    reference: buildReference(scorecard.features, file.records, Float64Array.from(file.records, (r) => scorer.probability(r))),
  };
  const written = await write(artifact, options.out);
  const reason = artifact.model.family === "scorecard" ? artifact.model.reason : `${labelled} labelled rows`;
  return { artifact, json: written.json, scorecard: { reason, modelPath: written.path, modelSha256: written.sha256 }, holdoutIndices: [], holdoutProbabilities: new Float64Array(0) };
}
