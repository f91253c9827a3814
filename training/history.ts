/**
 * The model's evolution log on the training side: the train summary's diff against the active
 * model in the local registry, the evaluation report's "Model history" (from the local registry,
 * or from model directories given on the command line) and both as text. The diffs themselves are
 * `shared/model/changelog.ts` and `shared/db/model-history.ts`, as the Worker's changelog route.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { type Changelog, registryHistory } from "../shared/db/model-history";
import { activeModelRow, fetchAnyArtifact } from "../shared/db/registry";
import type { ModelArtifact } from "../shared/model/artifact";
import { COMPARED_METRICS, describeDiff, describeHoldout, diffVersions, type VersionDiff, versionFacts } from "../shared/model/changelog";
import { loadModel } from "./evaluate";
import type { HistoryEntry } from "./html-report";
import { localStateDir, withLocalPlatform } from "./platform";
import { count, fixed, formatPairs, formatTable } from "./report";

/** The diff of a freshly trained artifact against the active model of its target, or why there is none. */
export interface ActiveModelDiff {
  diff: VersionDiff | null;
  note: string;
}

/** True when the local stack (`npm start`'s, or FORESIGHT_STATE_DIR's) has a D1 database to read. */
export function hasLocalState(): boolean {
  return existsSync(path.join(localStateDir(), "v3", "d1"));
}

/**
 * `artifact` against the active model of its target in the local D1, read through the platform
 * proxy. Never throws: no local state, no active model or any failure gives a one-line note.
 *
 * @example
 *   const { diff, note } = await diffAgainstActive(result.artifact);
 */
export async function diffAgainstActive(artifact: ModelArtifact): Promise<ActiveModelDiff> {
  if (!hasLocalState()) return { diff: null, note: `No local state at ${localStateDir()}: nothing to compare with (npm start or publish-model --local creates it).` };
  try {
    return await withLocalPlatform(async (env) => {
      const row = await activeModelRow(env.DB, artifact.target);
      if (!row) return { diff: null, note: `No active ${artifact.target} model in the local registry to compare with.` };
      if (row.version === artifact.version) return { diff: null, note: `${artifact.version} is already the active ${artifact.target} model.` };
      const diff = diffVersions(versionFacts(artifact), versionFacts(await fetchAnyArtifact(env, row)));
      return { diff, note: `Against the active ${artifact.target} model ${row.version} in the local registry.` };
    });
  } catch (e) {
    return { diff: null, note: `Could not compare with the active model: ${(e as Error).message.split("\n")[0]}` };
  }
}

/**
 * Every version in the local registry against the one before it, newest first, with monitoring
 * and activations (what `GET /v1/models/{version}/changelog` answers for each).
 *
 * @example
 *   const history = await localHistory("churn");
 */
export async function localHistory(target?: ModelArtifact["target"]): Promise<HistoryEntry[]> {
  if (!hasLocalState()) throw new Error(`no local state at ${localStateDir()}; run npm start or publish-model --local first, or pass model directories to --history`);
  return withLocalPlatform((env) => registryHistory(env, target));
}

/**
 * The history of model directories (each holding a model.json), newest first by training time,
 * each against the next older one of the same target. Without a registry there are no
 * activations or monitoring figures.
 *
 * @example
 *   const history = await artifactHistory(["models/v1", "models/v2"]);
 */
export async function artifactHistory(dirs: string[], flag = "--history"): Promise<HistoryEntry[]> {
  const loaded = await Promise.all(dirs.map((d) => loadModel(d, flag)));
  const unique = [...new Map(loaded.map((m) => [m.artifact.version, m.artifact])).values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.version.localeCompare(a.version));
  return unique.map((artifact, k) => {
    const before = unique.slice(k + 1).find((a) => a.target === artifact.target) ?? null;
    const diff = diffVersions(versionFacts(artifact), before ? versionFacts(before) : null);
    return { ...diff, previousBasis: before ? "created-before" : null, monitoring: { count: 0, latest: null }, activations: [], notes: ["From model directories: no registry, so no activations or monitoring figures."], summary: describeDiff(diff) };
  });
}

const signed = (v: number | null, digits = 3) => (v === null ? "n/a" : `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`);
const METRIC_LABELS: Record<(typeof COMPARED_METRICS)[number], string> = { auc: "ROC-AUC", prAuc: "PR-AUC", brier: "Brier", logLoss: "log loss", ece: "ECE", intervalCoverage: "interval coverage" };

function dataLine(d: VersionDiff["data"]["current"]): string {
  const range = d.dateRange ? `, ${d.dateRange.column} ${d.dateRange.from} to ${d.dateRange.to}` : "";
  return `${d.rows === null ? "?" : count(d.rows)} rows${range}, ${d.file ?? "?"} (sha256 ${d.sha256 ? `${d.sha256.slice(0, 12)}...` : "not recorded"})`;
}

function recipeLine(r: VersionDiff["recipe"]["current"]): string {
  return `${r.name ?? r.family}${r.hyperparameters ? "" : " (settings not recorded)"}`;
}

/**
 * A diff (or a registry changelog, with its activations and monitoring) as text, as the train
 * summary and the evaluate CLI print it.
 *
 * @example
 *   console.log(formatDiff(diff));
 */
export function formatDiff(d: VersionDiff | Changelog): string {
  const out: string[] = [];
  const log = "activations" in d ? d : null;
  const basis = log?.previousBasis === "replaced" ? " (the version it replaced when activated)" : log?.previousBasis === "created-before" ? " (the version registered before it)" : "";
  out.push(d.previous ? `${d.version} against ${d.previous}${basis}` : `${d.version}: no previous ${d.target} version`);
  const pairs: [string, string][] = [["data", dataLine(d.data.current)]];
  if (d.data.previous) pairs.push(["  was", `${dataLine(d.data.previous)}${d.data.sameData ? " (same data)" : ""}`]);
  pairs.push(["recipe", recipeLine(d.recipe.current)]);
  if (d.recipe.previous) pairs.push(["  was", `${recipeLine(d.recipe.previous)}${d.recipe.changed === false ? " (unchanged)" : ""}`]);
  const h = d.metrics.holdout;
  pairs.push(["hold-out", h.current ? describeHoldout(h.current) : "none"]);
  if (d.previous) pairs.push(["  compared", `${h.sameDefinition === false ? "DIFFERENT HOLD-OUT: " : ""}${h.note}`]);
  const c = d.calibration;
  pairs.push(["calibration", `${c.current.method ?? "n/a"}, ECE ${fixed(c.current.ece)}${c.previous ? `; was ${c.previous.method ?? "n/a"}, ECE ${fixed(c.previous.ece)}` : ""}`]);
  if (d.previous) pairs.push(["signals", `${d.signalsAdded.length ? `added ${d.signalsAdded.join(", ")}` : "none added"}; ${d.signalsDropped.length ? `dropped ${d.signalsDropped.join(", ")}` : "none dropped"}`]);
  if (log) {
    const m = log.monitoring;
    pairs.push(["monitoring", m.latest ? `${m.count} computation(s) while active; latest ${m.latest.computedAt}: ROC-AUC ${fixed(m.latest.auc)}, precision at red ${fixed(m.latest.precisionAtRed)}, max PSI ${fixed(m.latest.maxFeaturePsi)} on ${m.latest.scoresEvaluated} scores` : "no computation while active"]);
    pairs.push(["activations", log.activations.length ? log.activations.map((a) => `${a.at} by ${a.by}${a.previousVersion ? ` (replaced ${a.previousVersion})` : ""}`).join("; ") : "never activated"]);
    for (const note of log.notes) pairs.push(["note", note]);
  }
  out.push(formatPairs(pairs));
  out.push("");
  out.push(
    formatTable(
      ["metric", "this", "previous", "change"],
      COMPARED_METRICS.map((k) => [METRIC_LABELS[k], fixed(d.metrics.current[k]), fixed(d.metrics.previous?.[k] ?? null), signed(d.metrics.deltas?.[k] ?? null)]),
      [false, true, true, true],
    ),
  );
  if (d.topSignals.length) {
    out.push("");
    out.push(
      formatTable(
        ["rank", "signal", "mean |SHAP|", "previous", "rank change"],
        d.topSignals.map((s) => [String(s.rank), s.name, fixed(s.meanAbsShap), fixed(s.previous), s.rankChange === null ? (d.previous ? "new in ranking" : "") : s.rankChange === 0 ? "=" : signed(s.rankChange, 0)]),
        [true, false, true, true, true],
      ),
    );
  }
  return out.join("\n");
}
