/**
 * `npm run evaluate -- --model DIR --data FILE.csv [--label COL --positive VALUE] [--json]`:
 * scores a labelled CSV with a saved model (plain-TS scorer, as in production) and reports
 * ROC-AUC, PR-AUC, Brier, log loss and the risk tiers. With --json the last stdout line is
 * one JSON object.
 */
import { evaluate, formatEvaluation } from "../evaluate";
import { type FlagSpec, parseFlags, runCli } from "./args";

const FLAGS = {
  model: { type: "string", required: true, description: "directory holding model.json (or the model.json path)" },
  data: { type: "string", required: true, description: "labelled CSV to score" },
  label: { type: "string", description: "label column (default: the one the model was trained with)" },
  positive: { type: "string", description: "label value meaning churned (default: the model's)" },
  json: { type: "boolean", description: "print the result as one JSON object on the last line" },
} satisfies FlagSpec;

await runCli("evaluate", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const result = await evaluate({ model: flags.model as string, data: flags.data as string, label: flags.label, positive: flags.positive });
  // NaN (e.g. AUC on a single-class file) becomes null in JSON, which is what consumers expect.
  console.log(flags.json ? JSON.stringify({ ...result, ms: Math.round(result.ms) }) : formatEvaluation(result));
});
