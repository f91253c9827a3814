/**
 * Imports a model trained with XGBoost (`booster.save_model("model.json")`, objective
 * `binary:logistic`, booster `gbtree`) as a Foresight model artifact, so a data team can train
 * in Python and still score, explain and serve through Foresight's edge scorer.
 *
 * The trees keep XGBoost's semantics exactly (float32 thresholds, `x < threshold` goes left,
 * missing values take the learned default side), and XGBoost's `sum_hessian` becomes each
 * node's cover, so Foresight's TreeSHAP reproduces `predict(pred_contribs=True)`.
 */
import { sha256Hex } from "../shared/hash";
import { buildArtifact, DEFAULT_TIERS, type ModelArtifact, parseArtifact } from "../shared/model/artifact";
import type { NumericFeature } from "../shared/model/features";
import { encodeGbdt, type GbdtModel, type GbdtTree } from "../shared/model/gbdt/format";
import { versionId } from "./version";

/** The parts of XGBoost's JSON model schema (1.x and 2.x) that the importer reads. */
interface XgbTreeJson {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  sum_hessian: number[];
  split_type?: number[];
}

interface XgbModelJson {
  version?: number[];
  learner?: {
    attributes?: Record<string, string>;
    feature_names?: string[];
    learner_model_param?: { base_score?: string; num_class?: string; num_feature?: string; num_target?: string };
    objective?: { name?: string };
    gradient_booster?: { name?: string; model?: { trees?: XgbTreeJson[]; tree_info?: number[] } };
  };
}

/** Objectives whose margin goes through the logistic link, so base_score is a probability. */
const LOGISTIC_OBJECTIVES = new Set(["binary:logistic", "reg:logistic"]);

export interface XgboostImport {
  model: GbdtModel;
  featureNames: string[];
  objective: string;
  /** XGBoost version that wrote the file, e.g. "1.7.4". */
  xgboostVersion: string;
  /** `best_iteration` if the file records early stopping; all trees are imported regardless. */
  bestIteration: number | null;
}

function fail(message: string): never {
  throw new Error(`not an importable XGBoost model: ${message}`);
}

/**
 * Reads XGBoost's JSON model into in-memory trees. Throws a readable Error for anything other
 * than a binary logistic gbtree model with numeric splits.
 *
 * @example
 *   const { model, featureNames } = readXgboostJson(JSON.parse(readFileSync("xgb.json", "utf8")));
 */
export function readXgboostJson(json: unknown): XgboostImport {
  const doc = json as XgbModelJson | null;
  const learner = doc?.learner;
  if (!learner || typeof learner !== "object") fail("no `learner` object (save it with booster.save_model(\"model.json\"))");
  const objective = learner.objective?.name ?? "";
  if (!LOGISTIC_OBJECTIVES.has(objective)) fail(`objective is ${JSON.stringify(objective)}; only binary:logistic is supported`);
  const booster = learner.gradient_booster;
  if (booster?.name !== "gbtree") fail(`booster is ${JSON.stringify(booster?.name)}; only gbtree is supported (dart and gblinear are not)`);
  const param = learner.learner_model_param ?? {};
  if (Number(param.num_class ?? 0) > 1 || Number(param.num_target ?? 1) > 1) fail("multi-class or multi-target models are not supported");
  const numFeature = Number(param.num_feature);
  if (!Number.isInteger(numFeature) || numFeature < 1) fail(`num_feature is ${JSON.stringify(param.num_feature)}`);
  // 1.x writes "5E-1"; 2.1+ writes a vector, "[5E-1]".
  const baseScore = Number(String(param.base_score ?? "0.5").replace(/^\[(.*)\]$/, "$1"));
  if (!(baseScore > 0 && baseScore < 1)) fail(`base_score ${JSON.stringify(param.base_score)} is not a probability`);
  const treesJson = booster.model?.trees;
  if (!Array.isArray(treesJson)) fail("no trees");

  const names = Array.isArray(learner.feature_names) && learner.feature_names.length === numFeature ? learner.feature_names.map(String) : Array.from({ length: numFeature }, (_, j) => `f${j}`);
  if (new Set(names).size !== names.length) fail("feature names repeat");

  const trees = treesJson.map((t, k) => readTree(t, k, numFeature));
  const bestIteration = learner.attributes?.best_iteration !== undefined ? Number(learner.attributes.best_iteration) : null;
  return {
    // XGBoost turns base_score into a margin in float32 (ProbToMargin) and keeps it there.
    model: { baseMargin: Math.fround(-Math.log(1 / Math.fround(baseScore) - 1)), trees },
    featureNames: names,
    objective,
    xgboostVersion: Array.isArray(doc?.version) ? doc.version.join(".") : "unknown",
    bestIteration,
  };
}

function readTree(t: XgbTreeJson, k: number, numFeature: number): GbdtTree {
  const n = t?.left_children?.length ?? 0;
  if (n < 1) fail(`tree ${k} has no nodes`);
  for (const key of ["right_children", "split_indices", "split_conditions", "default_left", "sum_hessian"] as const) {
    if (!Array.isArray(t[key]) || t[key].length !== n) fail(`tree ${k} has no ${key} array of ${n} nodes`);
  }
  if (t.split_type?.some((s) => s !== 0)) fail(`tree ${k} has categorical splits, which are not supported`);
  const tree: GbdtTree = {
    feature: new Int32Array(n),
    value: new Float32Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    defaultLeft: new Uint8Array(n),
    cover: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    const leaf = t.left_children[i] === -1;
    tree.feature[i] = leaf ? -1 : t.split_indices[i];
    // For a leaf XGBoost stores the leaf value in split_conditions (already times eta).
    tree.value[i] = t.split_conditions[i];
    tree.left[i] = t.left_children[i];
    tree.right[i] = t.right_children[i];
    tree.defaultLeft[i] = t.default_left[i] ? 1 : 0;
    tree.cover[i] = t.sum_hessian[i];
    if (!leaf) {
      if (!(tree.feature[i] >= 0 && tree.feature[i] < numFeature)) fail(`tree ${k} node ${i} splits on feature ${tree.feature[i]} of ${numFeature}`);
      const l = tree.left[i];
      const r = tree.right[i];
      if (!(l > 0 && l < n && r > 0 && r < n)) fail(`tree ${k} node ${i} has children ${l}, ${r} outside its ${n} nodes`);
    }
  }
  return tree;
}

export interface ImportOptions {
  /** Name of the model file, recorded in the artifact's metrics. */
  sourceFile?: string;
  /** Raw bytes or text of the file, hashed into the artifact's metrics and version id. */
  sourceBytes?: string | Uint8Array;
  target?: ModelArtifact["target"];
  /** What the model predicts, for the record (XGBoost files do not say). */
  label?: { column: string; positive: string };
  /** Clock for the version id and `createdAt`; tests pin it. */
  now?: Date;
}

/**
 * Builds a Foresight model artifact from a parsed XGBoost JSON model: one numeric feature per
 * XGBoost column (identity scaling, missing stays NaN for the trees), zero baseline, default
 * tiers. The result passes `parseArtifact`.
 *
 * @example
 *   const text = readFileSync("xgb.json", "utf8");
 *   const artifact = await importXgboost(JSON.parse(text), { sourceFile: "xgb.json", sourceBytes: text });
 *   await writeArtifact("models/xgb", artifact);
 */
export async function importXgboost(json: unknown, options: ImportOptions = {}): Promise<ModelArtifact> {
  const imported = readXgboostJson(json);
  const params = encodeGbdt(imported.model);
  const features: NumericFeature[] = imported.featureNames.map((name) => ({ name, kind: "numeric", mean: 0, std: 1, fill: 0 }));
  const now = options.now ?? new Date();
  const target = options.target ?? "churn";
  const sha = await sha256Hex(options.sourceBytes ?? JSON.stringify(json));
  const artifact = buildArtifact({
    version: versionId(`${target}-xgb`, now, sha),
    createdAt: now.toISOString(),
    target,
    label: options.label ?? { column: "label", positive: "1" },
    idColumn: null,
    arrColumn: null,
    features,
    baseline: features.map(() => 0),
    model: params,
    tiers: { ...DEFAULT_TIERS },
    metrics: {
      importedFrom: "xgboost",
      xgboostVersion: imported.xgboostVersion,
      objective: imported.objective,
      sourceFile: options.sourceFile ?? null,
      sourceSha256: sha,
      trees: params.trees,
      maxDepth: params.maxDepth,
      bestIteration: imported.bestIteration,
    },
    // XGBoost files do not record the data they were trained on.
    training: { dataSha256: "", dataFile: "", rows: 0, positives: 0, holdoutRows: 0, seed: 0, excludedColumns: [] },
  });
  return parseArtifact(artifact);
}
