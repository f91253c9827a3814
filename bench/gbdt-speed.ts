/**
 * Scoring speed of 300 trees of depth 6 in Node, single-threaded: one row at a time through
 * `GbdtScorer.margin` (the Worker's path), a batch through `marginBatch`, and exact TreeSHAP
 * through `contributions`. Runs on two ensembles: one trained here by `trainGbdt` on encoded
 * Telco, and, when `bench/peers/xgb_speed.py` has run, XGBoost's own 300 trees imported with
 * `training/xgboost.ts` (checked against XGBoost's margins), so both sides time the same trees.
 *
 *   npx tsx bench/gbdt-data.ts && /usr/bin/python3 bench/peers/xgb_speed.py   # optional peer
 *   npx tsx bench/gbdt-speed.ts
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { GbdtParams } from "../shared/model/artifact";
import { gbdtSizeBytes } from "../shared/model/gbdt/format";
import { GbdtScorer } from "../shared/model/gbdt/scorer";
import { trainGbdt } from "../training/gbdt";
import { importXgboost } from "../training/xgboost";
import { OUT, telcoData } from "./gbdt-data";

const d = telcoData();
const cols = d.cols;
const test = d.test;

/** Best-of-`runs` seconds of `fn`. */
function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, (performance.now() - t0) / 1000);
  }
  return min;
}

function bench(name: string, params: GbdtParams): Record<string, unknown> {
  const scorer = new GbdtScorer(params);
  // Many short runs, keeping the best: other work on the machine only ever adds time.
  // A 20,000-row batch of hold-out rows repeated (the XGBoost peer uses 100,000).
  const batchRows = 20_000;
  const big = new Float64Array(batchRows * cols);
  for (let r = 0; r < batchRows; r++) big.set(test.x.subarray((r % test.rows) * cols, (r % test.rows + 1) * cols), r * cols);
  const out = new Float64Array(batchRows);
  let sink = 0;
  const singleRows = 10_000;
  const single = best(40, () => {
    for (let i = 0; i < singleRows; i++) sink += scorer.margin(test.x, (i % test.rows) * cols);
  });
  const batch = best(40, () => scorer.marginBatch(big, batchRows, cols, out));
  const shapRows = 200;
  const owners = Int32Array.from({ length: cols }, (_, j) => j);
  const phi = new Float64Array(cols);
  const shap = best(15, () => {
    for (let i = 0; i < shapRows; i++) scorer.contributions(test.x, owners, phi, (i % test.rows) * cols);
  });
  if (!Number.isFinite(sink)) throw new Error("unreachable");
  return {
    model: name,
    trees: scorer.trees,
    maxDepth: scorer.maxDepth,
    sizeBytes: gbdtSizeBytes(params),
    singleUsPerRow: Math.round((1e6 * single * 1000) / singleRows) / 1000,
    batchRowsPerSec: Math.round(batchRows / batch),
    batchUsPerRow: Math.round((1e6 * batch * 1000) / batchRows) / 1000,
    shapUsPerRow: Math.round((1e6 * shap * 10) / shapRows) / 10,
  };
}

const fit = trainGbdt(d.train.x, d.train.y, d.train.rows, cols, { rounds: 300, maxDepth: 6, learningRate: 0.05, earlyStoppingRounds: 0 });
console.log(JSON.stringify({ ...bench("foresight-gbdt telco depth 6", fit.params), trainMs: Math.round(fit.ms) }));

const xgbFile = join(OUT, "xgb-telco-depth6.json");
if (existsSync(xgbFile)) {
  const artifact = await importXgboost(JSON.parse(readFileSync(xgbFile, "utf8")));
  const params = artifact.model as GbdtParams;
  const expected = JSON.parse(readFileSync(join(OUT, "xgb-telco-depth6-margins.json"), "utf8")) as number[];
  const scorer = new GbdtScorer(params);
  let maxDiff = 0;
  for (let r = 0; r < test.rows; r++) maxDiff = Math.max(maxDiff, Math.abs(scorer.margin(test.x, r * cols) - expected[r]));
  console.log(JSON.stringify({ ...bench("xgboost 1.7.4 telco depth 6, imported", params), maxMarginDiffVsXgboost: maxDiff }));
} else {
  console.log(`(no ${xgbFile}: run /usr/bin/python3 bench/peers/xgb_speed.py to time XGBoost's own trees too)`);
}
