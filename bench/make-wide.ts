/**
 * Writes a synthetic 10,000-account × 50-column CSV (numeric, categorical, yes/no and blank
 * cells, with interactions) to time `npm run train` at the size the model-quality issue names:
 *
 *   npx tsx bench/make-wide.ts .foresight/bench/wide.csv && time npm run train -- --data .foresight/bench/wide.csv --label churned --positive yes --id account_id --out .foresight/bench/wide-model
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { toCsv } from "../shared/csv";
import { sigmoid } from "../shared/model/sigmoid";
import { mulberry32 } from "../training/split";

const out = process.argv[2] ?? ".foresight/bench/wide.csv";
const random = mulberry32(50);
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const header = ["account_id", ...Array.from({ length: 41 }, (_, j) => `signal_${j}`), ...Array.from({ length: 6 }, (_, j) => `segment_${j}`), ...Array.from({ length: 3 }, (_, j) => `flag_${j}`), "churned"];
const rows: (string | number)[][] = [];
for (let i = 0; i < 10_000; i++) {
  const x = Array.from({ length: 41 }, () => normal());
  const seg = Array.from({ length: 6 }, () => ["a", "b", "c", "d"][Math.floor(random() * 4)]);
  const flags = Array.from({ length: 3 }, () => (random() < 0.3 ? "yes" : "no"));
  const z = -0.8 + 0.6 * x[0] - 0.5 * x[1] + (x[2] > 0.5 && x[3] > 0 ? 1.2 : 0) + 0.4 * Math.abs(x[4]) + (seg[0] === "d" ? 0.5 : 0) + (flags[0] === "yes" ? 0.4 : 0);
  const churned = random() < sigmoid(z) ? "yes" : "no";
  rows.push([`A${i}`, ...x.map((v) => (random() < 0.02 ? "" : v.toFixed(4))), ...seg, ...flags, churned]);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, toCsv(header, rows));
console.log(`wrote ${out}: ${rows.length} rows × ${header.length - 2} signal columns`);
