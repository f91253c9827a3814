/**
 * `npm run train -- --data FILE.csv --label COL --positive VALUE [--id COL] [--arr COL] --out DIR`
 * with `[--time COL] [--budget SECONDS] [--folds K] [--family F] [--red-precision P] [--seed N]
 * [--holdout 0.2] [--horizon 90] [--no-refit]`: picks, calibrates and validates a churn model and writes
 * DIR/model.json. Without a label, or with fewer than 200 labelled rows, it builds a transparent
 * cold-start scorecard instead and says why.
 *
 * `npm run train -- --target trajectory --data PANEL.csv [--id COL] [--date COL] [--health-model DIR]
 * [--exclude COLS] [--budget S] [--seed N] [--holdout 0.2] --out DIR` trains a health-trajectory
 * model from a panel (`training/trajectory.ts`) instead.
 */
import { diffAgainstActive } from "../history";
import { formatTrainResult, train } from "../train";
import { formatTrajectorySummary, trainTrajectory } from "../trajectory";
import { type FlagSpec, parseFlags, runCli, UsageError } from "./args";
import { progress } from "./progress";

const FAMILIES = ["logistic", "mlp", "gbdt"] as const;
const TARGETS = ["churn", "expansion", "trajectory"] as const;
/** Flags only a churn or expansion model reads, and only a trajectory model reads. */
const LABEL_ONLY = ["label", "positive", "arr", "time", "folds", "family", "red-precision", "horizon", "no-refit", "use-feedback"] as const;
const TRAJECTORY_ONLY = ["date", "health-model"] as const;

const FLAGS = {
  data: { type: "string", required: true, description: "CSV with a header row, one row per account (with --target trajectory: one row per account per cutoff)" },
  label: { type: "string", description: "column saying whether the account churned (omit for a cold-start scorecard)" },
  positive: { type: "string", description: "value of the label that means churned (or expanded, with --target expansion), e.g. Yes, 1, cancelled" },
  out: { type: "string", required: true, description: "directory to write model.json and model.json.sha256 into" },
  id: { type: "string", description: "account id column (never used as a signal)" },
  arr: { type: "string", description: "annual recurring revenue column (recorded for revenue at risk)" },
  exclude: { type: "string", description: "comma-separated columns never to use as signals, e.g. another target's label" },
  time: { type: "string", description: "date or number column: train on older rows, validate on newer ones" },
  "use-feedback": { type: "boolean", description: "learn from export-training's CSM feedback columns (csm_verdict, csm_expected_tier); scoring requests must then send them as signals" },
  budget: { type: "string", description: "seconds the model search may spend (default 120)" },
  folds: { type: "string", description: "cross-validation folds for model selection (default 5)" },
  family: { type: "string", description: `only this model family: ${FAMILIES.join(", ")} (default: the best by cross-validation)` },
  "red-precision": { type: "string", description: "pick the lowest red threshold whose validation precision reaches this, e.g. 0.85" },
  seed: { type: "string", description: "seed for the hold-out split and the fits (default 42)" },
  holdout: { type: "string", description: "share of rows held out to measure the model (default 0.2)" },
  horizon: { type: "string", description: "days after a snapshot in which the label's outcome counts, as exported (default 90); monitoring judges scores after it" },
  target: { type: "string", description: "what the label means: churn (default) or expansion (an expansion-readiness model, labelled by expanded outcomes); trajectory: a health forecast from a panel" },
  date: { type: "string", description: "--target trajectory: the panel's cutoff date column, YYYY-MM-DD (default as_of)" },
  "health-model": { type: "string", description: "--target trajectory: a churn model directory that computes health when the panel has no health column" },
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
  if (flags.target !== undefined && !TARGETS.includes(flags.target as never)) throw new UsageError("--target", `must be one of ${TARGETS.join(", ")}, got "${flags.target}"`);
  const trajectory = flags.target === "trajectory";
  for (const name of trajectory ? LABEL_ONLY : TRAJECTORY_ONLY) {
    if (flags[name]) throw new UsageError(`--${name}`, trajectory ? "does not apply to --target trajectory" : "applies only to --target trajectory");
  }
  const budget = numberFlag(flags.budget, "--budget");
  if (budget !== undefined && !(budget > 0)) throw new UsageError("--budget", "must be a positive number of seconds");
  const exclude = flags.exclude ? flags.exclude.split(",").map((c) => c.trim()).filter(Boolean) : undefined;
  if (trajectory) {
    const result = await trainTrajectory({
      data: flags.data as string,
      out: flags.out as string,
      id: flags.id ?? null,
      date: flags.date ?? null,
      healthModel: flags["health-model"] ?? null,
      exclude,
      budget,
      seed: numberFlag(flags.seed, "--seed"),
      holdout: numberFlag(flags.holdout, "--holdout"),
      onProgress: progress,
    });
    console.log(formatTrajectorySummary(result.summary));
    return;
  }
  if (flags.label !== undefined && flags.positive === undefined) throw new UsageError("--positive", "missing: which value of --label means churned?");
  if (flags.family !== undefined && !FAMILIES.includes(flags.family as never)) throw new UsageError("--family", `must be one of ${FAMILIES.join(", ")}, got "${flags.family}"`);
  const redPrecision = numberFlag(flags["red-precision"], "--red-precision");
  if (redPrecision !== undefined && !(redPrecision > 0 && redPrecision < 1)) throw new UsageError("--red-precision", "must be between 0 and 1, e.g. 0.85");
  const folds = numberFlag(flags.folds, "--folds");
  if (folds !== undefined && !(Number.isInteger(folds) && folds >= 2 && folds <= 20)) throw new UsageError("--folds", "must be a whole number from 2 to 20");
  if (flags.target === "expansion" && flags.label === undefined) throw new UsageError("--label", "an expansion model needs a label: the column saying whether the account expanded");
  const result = await train({
    data: flags.data as string,
    label: flags.label ?? null,
    positive: flags.positive ?? null,
    out: flags.out as string,
    id: flags.id ?? null,
    arr: flags.arr ?? null,
    time: flags.time ?? null,
    exclude,
    useFeedback: flags["use-feedback"] === true,
    budget,
    folds,
    family: flags.family as (typeof FAMILIES)[number] | undefined,
    redPrecision: redPrecision ?? null,
    seed: numberFlag(flags.seed, "--seed"),
    holdout: numberFlag(flags.holdout, "--holdout"),
    horizon: numberFlag(flags.horizon, "--horizon"),
    refit: !flags["no-refit"],
    target: (flags.target as "churn" | "expansion" | undefined) ?? "churn",
    onProgress: progress,
    onWarning: (message) => console.error(`warning: ${message}`),
  });
  // The diff against the active model in the local registry; a note (never a failure) when there is none.
  if (result.summary) result.summary.againstActive = await diffAgainstActive(result.artifact);
  console.log(formatTrainResult(result));
});
