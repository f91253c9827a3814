/**
 * Telco as `npm run bench:api` sends it: customers as the API takes them (raw signals), the first
 * one as the body of every single-row request, 1,000 for the batches, and a 300-tree artifact
 * trained on all of it for the cold start.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { csvRecords, parseCsv } from "../shared/csv";
import { sha256Hex } from "../shared/hash";
import { DEFAULT_TIERS, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelArtifact, parseArtifact } from "../shared/model/artifact";
import { gbdtSizeBytes } from "../shared/model/gbdt/format";
import { GbdtScorer } from "../shared/model/gbdt/scorer";
import { Scorer } from "../shared/model/scorer";
import { fitCalibration } from "../training/calibrate";
import { columnMeans, encodeMatrix } from "../training/dataset";
import { trainGbdt } from "../training/gbdt";
import { inferFeatures } from "../training/infer";
import { cellToSignal } from "../training/seed";
import { log, TELCO } from "./api-settings";

const telco = csvRecords(parseCsv(readFileSync(TELCO, "utf8")));

/** A Telco row's signals as the API takes them (id and label left out). */
export function featuresOf(r: Record<string, string>): Record<string, string | number | null> {
  const features: Record<string, string | number | null> = {};
  for (const [k, v] of Object.entries(r)) if (k !== "customerID" && k !== "Churn") features[k] = cellToSignal(v) as string | number | null;
  return features;
}

/** The customer every single-row request scores. */
export const ONE = featuresOf(telco[0]);
/** The rows of every batch request. */
export const BATCH_ROWS = telco.slice(0, 1000);

/** The cold start's large model, as the report describes it. */
export interface BigModel {
  version: string;
  bytes: number;
  trees: number;
  maxDepth: number;
  trainMs: number | null;
}

/**
 * A depth-6, 300-tree GBDT on all of Telco with Telco's own feature spec (so `/v1/score` takes
 * Telco signals), calibrated in-sample: a realistic size and shape for a large tree model, not a
 * model to ship. Built once and kept in COLD_MODEL.
 */
export async function build300TreeModel(dir: string): Promise<BigModel> {
  const file = path.join(dir, "model.json");
  if (!existsSync(file)) {
    log("building a 300-tree depth-6 GBDT artifact on Telco (trainGbdt, no early stopping) ...");
    const csv = parseCsv(readFileSync(TELCO, "utf8"));
    const records = csvRecords(csv);
    const y = Uint8Array.from(records, (r) => (r.Churn === "Yes" ? 1 : 0));
    const { features } = inferFeatures(csv, { label: "Churn", id: "customerID" });
    const baseline = columnMeans(encodeMatrix(features, records));
    const nan = encodeMatrix(features, records, undefined, true);
    const fit = trainGbdt(nan.x, y, nan.rows, nan.cols, { rounds: 300, maxDepth: 6, learningRate: 0.05, earlyStoppingRounds: 0, seed: 42 });
    const margins = new Float64Array(nan.rows);
    new GbdtScorer(fit.params).marginBatch(nan.x, nan.rows, nan.cols, margins);
    const positives = y.reduce((a, v) => a + v, 0);
    const artifact: ModelArtifact = {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      version: `churn-bench-300x6-${(await sha256Hex(JSON.stringify(fit.params))).slice(0, 6)}`,
      createdAt: new Date().toISOString(),
      target: "churn",
      label: { column: "Churn", positive: "Yes" },
      idColumn: "customerID",
      arrColumn: "MonthlyCharges",
      features,
      baseline,
      model: fit.params,
      calibration: fitCalibration(margins, y),
      tiers: { ...DEFAULT_TIERS },
      metrics: { family: "gbdt", recipe: "bench:api cold start: 300 trees, depth 6, lr 0.05, no early stopping, in-sample calibration", treeBytesBase64: gbdtSizeBytes(fit.params), trainMs: Math.round(fit.ms) },
      training: { dataSha256: await sha256Hex(readFileSync(TELCO)), dataFile: "telco.csv", rows: records.length, positives, holdoutRows: 0, seed: 42, excludedColumns: [] },
    };
    const json = `${JSON.stringify(artifact, null, 2)}\n`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, json);
    writeFileSync(`${file}.sha256`, `${await sha256Hex(json)}  model.json\n`);
  }
  const json = readFileSync(file);
  const artifact = parseArtifact(JSON.parse(json.toString("utf8")));
  const m = artifact.model;
  if (m.family !== "gbdt" || m.trees !== 300) throw new Error(`${file} is not a 300-tree GBDT; delete ${dir} and run again`);
  // The Worker's own scorer must take a Telco row, or the route would 422.
  new Scorer(artifact).score(ONE, 3);
  return { version: artifact.version, bytes: json.byteLength, trees: m.trees, maxDepth: m.maxDepth, trainMs: typeof artifact.metrics.trainMs === "number" ? artifact.metrics.trainMs : null };
}
