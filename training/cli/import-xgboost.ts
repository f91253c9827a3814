/**
 * `npm run import-xgboost -- --model xgb.json --out DIR [--label COL --positive VALUE]
 * [--target churn|expansion]`: turns an XGBoost JSON model (binary:logistic, gbtree) into
 * DIR/model.json and DIR/model.json.sha256, ready for `npm run publish-model`.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { writeArtifact } from "../train";
import { importXgboost } from "../xgboost";
import { type FlagSpec, parseFlags, runCli, UsageError } from "./args";

const FLAGS = {
  model: { type: "string", required: true, description: "XGBoost model saved with booster.save_model(\"model.json\")" },
  out: { type: "string", required: true, description: "directory to write model.json and model.json.sha256 into" },
  label: { type: "string", description: "label column the model predicts, for the record (default label)" },
  positive: { type: "string", description: "label value meaning churned, for the record (default 1)" },
  target: { type: "string", description: "churn (default) or expansion" },
} satisfies FlagSpec;

await runCli("import-xgboost", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const path = flags.model as string;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError("--model", `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError("--model", `${path} is not JSON; save the model with booster.save_model("model.json") (the .json suffix picks the JSON format)`);
  }
  const target = flags.target ?? "churn";
  if (target !== "churn" && target !== "expansion") throw new UsageError("--target", `must be churn or expansion, got "${target}"`);
  let artifact: Awaited<ReturnType<typeof importXgboost>>;
  try {
    artifact = await importXgboost(json, {
      sourceFile: basename(path),
      sourceBytes: text,
      target,
      label: { column: flags.label ?? "label", positive: flags.positive ?? "1" },
    });
  } catch (e) {
    throw new UsageError("--model", (e as Error).message);
  }
  const written = await writeArtifact(flags.out as string, artifact);
  const m = artifact.model.family === "gbdt" ? artifact.model : null;
  console.log(`Imported ${path}: ${m?.trees} trees (depth ≤ ${m?.maxDepth}), ${artifact.features.length} features, XGBoost ${artifact.metrics.xgboostVersion}`);
  console.log(`Wrote ${written.path} (sha256 ${written.sha256}) and ${written.path}.sha256`);
  console.log(`version ${artifact.version}`);
});
