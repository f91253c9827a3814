/**
 * `npm run train -- --data FILE.csv --label COL --positive VALUE [--id COL] [--arr COL]
 * --out DIR [--seed N] [--holdout 0.2]`: trains a churn model and writes DIR/model.json.
 */
import { formatTrainSummary, train } from "../train";
import { type FlagSpec, parseFlags, runCli, UsageError } from "./args";

const FLAGS = {
  data: { type: "string", required: true, description: "labelled CSV with a header row, one row per account" },
  label: { type: "string", required: true, description: "column saying whether the account churned" },
  positive: { type: "string", required: true, description: "value of the label that means churned, e.g. Yes, 1, cancelled" },
  out: { type: "string", required: true, description: "directory to write model.json and model.json.sha256 into" },
  id: { type: "string", description: "account id column (never used as a signal)" },
  arr: { type: "string", description: "annual recurring revenue column (recorded for revenue at risk)" },
  seed: { type: "string", description: "seed for the hold-out split and the fit (default 42)" },
  holdout: { type: "string", description: "share of rows held out to measure the model (default 0.2)" },
  "no-refit": { type: "boolean", description: "ship the model fitted on the training split instead of refitting on all rows" },
} satisfies FlagSpec;

/** A numeric flag's value, or a UsageError naming it. */
function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(flag, `must be a number, got "${value}"`);
  return n;
}

await runCli("train", FLAGS, async () => {
  const flags = parseFlags(process.argv.slice(2), FLAGS);
  const result = await train({
    data: flags.data as string,
    label: flags.label as string,
    positive: flags.positive as string,
    out: flags.out as string,
    id: flags.id ?? null,
    arr: flags.arr ?? null,
    seed: numberFlag(flags.seed, "--seed"),
    holdout: numberFlag(flags.holdout, "--holdout"),
    refit: !flags["no-refit"],
  });
  console.log(formatTrainSummary(result.summary));
});
