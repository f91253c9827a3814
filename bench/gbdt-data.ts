/**
 * Data sets the GBDT benchmarks share with their XGBoost peers: Telco encoded exactly as the
 * trees see it (`encodeRow(..., missingAsNaN = true)`, statistics from the training split) and
 * the synthetic tree-friendly set, each split 80/20 (stratified, seed 42), written as CSVs
 * (blank = missing, label last) so `bench/peers/*.py` train on the very same numbers.
 *
 * `npx tsx bench/gbdt-data.ts` writes them to `.foresight/bench/`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { csvRecords, parseCsv } from "../shared/csv";
import { encodedNames } from "../shared/model/features";
import { encodeMatrix, type RowSubset, takeRows } from "../training/dataset";
import { inferFeatures } from "../training/infer";
import { stratifiedSplit } from "../training/split";
import { treeFriendlyData } from "../training/synthetic";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const OUT = join(ROOT, ".foresight", "bench");

export type Part = RowSubset;

export interface BenchData {
  name: string;
  cols: number;
  names: string[];
  train: Part;
  test: Part;
}


/** Telco, 80/20 stratified (seed 42), encoded with missing values as NaN. */
export function telcoData(): BenchData {
  const csv = parseCsv(readFileSync(join(ROOT, "training/data/telco.csv"), "utf8"));
  const records = csvRecords(csv);
  const labels = records.map((r) => (r.Churn === "Yes" ? 1 : 0));
  const split = stratifiedSplit(labels, { fraction: 0.2, seed: 42 });
  const { features } = inferFeatures(csv, { label: "Churn", id: "customerID", rows: split.train });
  const names = encodedNames(features);
  const { x, cols } = encodeMatrix(features, records, undefined, true);
  return { name: "telco", cols, names, train: takeRows(x, labels, cols, split.train), test: takeRows(x, labels, cols, split.holdout) };
}

/**
 * The synthetic XOR/threshold set (`training/synthetic.ts`), 8,000 rows, 80/20: `synthetic`
 * where trees win big, `synthetic-mild` (weaker interactions plus linear terms) where they
 * win by a few hundredths of AUC.
 */
export function syntheticData(mild = false, rows = 8000): BenchData {
  const d = treeFriendlyData(rows, 11, mild ? { interaction: 0.4, linear: 1 } : {});
  const split = stratifiedSplit(d.y, { fraction: 0.2, seed: 42 });
  return { name: mild ? "synthetic-mild" : "synthetic", cols: d.cols, names: d.names, train: takeRows(d.x, d.y, d.cols, split.train), test: takeRows(d.x, d.y, d.cols, split.holdout) };
}

/** Every bench data set. */
export function allBenchData(): BenchData[] {
  return [telcoData(), syntheticData(), syntheticData(true)];
}

function toCsvText(names: string[], part: Part): string {
  const cols = names.length;
  const lines = [[...names.map((n) => JSON.stringify(n)), "y"].join(",")];
  for (let r = 0; r < part.rows; r++) {
    const cells: string[] = [];
    // Shortest round-trip decimal, so Python reads back the same double.
    for (let j = 0; j < cols; j++) {
      const v = part.x[r * cols + j];
      cells.push(Number.isNaN(v) ? "" : String(v));
    }
    cells.push(String(part.y[r]));
    lines.push(cells.join(","));
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `<name>-train.csv` and `<name>-test.csv` into `.foresight/bench/`. */
export function writeBenchCsv(d: BenchData): string[] {
  mkdirSync(OUT, { recursive: true });
  const files = [join(OUT, `${d.name}-train.csv`), join(OUT, `${d.name}-test.csv`)];
  writeFileSync(files[0], toCsvText(d.names, d.train));
  writeFileSync(files[1], toCsvText(d.names, d.test));
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const d of allBenchData()) {
    const files = writeBenchCsv(d);
    console.log(`${d.name}: ${d.train.rows} train / ${d.test.rows} test rows, ${d.cols} columns -> ${files.join(", ")}`);
  }
}
