/**
 * `npm run evaluate -- --model DIR --data FILE.csv [--label COL --positive VALUE] [--json]
 * [--history local|DIR,DIR...]`: scores a labelled CSV with a saved model (plain-TS scorer, as in
 * production) and reports ROC-AUC, PR-AUC, Brier, log loss and the risk tiers. With --json the
 * last stdout line is one JSON object. --history adds "Model history" to the report: every
 * version of the model's target in the local registry (`local`), or the model directories given
 * (with --model's), each against the one before it.
 */
import { evaluate, formatEvaluation, loadModel } from "../evaluate";
import { artifactHistory, formatDiff, localHistory } from "../history";
import { type FlagSpec, parseFlags, runCli } from "./args";

const FLAGS = {
  model: { type: "string", required: true, description: "directory holding model.json (or the model.json path)" },
  data: { type: "string", required: true, description: "labelled CSV to score" },
  label: { type: "string", description: "label column (default: the one the model was trained with)" },
  positive: { type: "string", description: "label value meaning churned (default: the model's)" },
  json: { type: "boolean", description: "print the result as one JSON object on the last line" },
  history: { type: "string", description: "add the model history: 'local' (the local registry, with activations and monitoring) or comma-separated model directories" },
} satisfies FlagSpec;

await runCli("evaluate", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const model = flags.model as string;
  let history: { source: string; entries: Awaited<ReturnType<typeof localHistory>> } | undefined;
  if (flags.history === "local") {
    const { artifact } = await loadModel(model);
    history = { source: `Every ${artifact.target} version in the local registry`, entries: await localHistory(artifact.target) };
  } else if (flags.history) {
    const dirs = [model, ...flags.history.split(",").map((d) => d.trim()).filter(Boolean)];
    history = { source: `The model directories ${dirs.join(", ")}`, entries: await artifactHistory(dirs) };
  }
  const result = await evaluate({ model, data: flags.data as string, label: flags.label, positive: flags.positive, history });
  // NaN (e.g. AUC on a single-class file) becomes null in JSON, which is what consumers expect.
  if (flags.json) console.log(JSON.stringify({ ...result, ms: Math.round(result.ms) }));
  else {
    console.log(formatEvaluation(result));
    if (history) {
      console.log(`\nModel history (${history.source}; newest first)`);
      for (const e of history.entries) console.log(`\n${"error" in e ? `${e.version}: could not be read: ${e.error}` : formatDiff(e)}`);
    }
  }
});
