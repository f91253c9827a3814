/**
 * Times Foresight's GBDT trainer and measures its hold-out ROC-AUC on the data sets its XGBoost
 * peer (`bench/peers/xgb_train.py`) uses, with the same settings: 300 rounds, depth 4, learning
 * rate 0.05, subsample 0.8, colsample 0.8, min child weight 1, lambda 1, 256 bins, no early
 * stopping. Single-threaded; best and median of --repeat runs (seeds 42, 43, ...), as the peer
 * reports. Prints one JSON object per line.
 *
 *   npx tsx bench/gbdt-train.ts [--rounds 300] [--depth 4] [--repeat 3]
 */
import { parseArgs } from "node:util";
import { rocAuc } from "../shared/metrics";
import { GbdtScorer } from "../shared/model/gbdt/scorer";
import { trainGbdt } from "../training/gbdt";
import { allBenchData, writeBenchCsv } from "./gbdt-data";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "300" }, depth: { type: "string", default: "4" }, eta: { type: "string", default: "0.05" }, repeat: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);
const depth = Number(values.depth);
const eta = Number(values.eta);
const repeat = Number(values.repeat);

for (const d of allBenchData()) {
  writeBenchCsv(d);
  const times: number[] = [];
  const aucs: number[] = [];
  for (let rep = 0; rep < repeat; rep++) {
    const fit = trainGbdt(d.train.x, d.train.y, d.train.rows, d.cols, { rounds, maxDepth: depth, learningRate: eta, earlyStoppingRounds: 0, seed: 42 + rep });
    times.push(fit.ms);
    const scorer = new GbdtScorer(fit.params);
    const z = new Float64Array(d.test.rows);
    scorer.marginBatch(d.test.x, d.test.rows, d.cols, z);
    aucs.push(rocAuc(d.test.y, z));
  }
  times.sort((a, b) => a - b);
  const mean = aucs.reduce((s, v) => s + v, 0) / aucs.length;
  console.log(JSON.stringify({ peer: "foresight-gbdt", set: d.name, threads: 1, rounds, depth, eta, trainMs: Math.round(times[0] * 10) / 10, trainMsMedian: Math.round(times[times.length >> 1] * 10) / 10, auc: Math.round(aucs[0] * 1e4) / 1e4, aucMean: Math.round(mean * 1e4) / 1e4 }));
}
