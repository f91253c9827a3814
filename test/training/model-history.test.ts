/**
 * The model's evolution log in Node: the training facts an artifact records (date range, recipe,
 * hold-out, signals by |SHAP|), `npm run train`'s diff against the active model of a throwaway
 * local stack (and its one-line note when there is none), and the evaluation report's "Model
 * history" from that registry or from model directories.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCsv, toCsv } from "../../shared/csv";
import type { ModelArtifact } from "../../shared/model/artifact";
import { type CliRun, ROOT, runCli } from "./cli-run";

const dir = mkdtempSync(path.join(tmpdir(), "foresight-history-"));
const state = path.join(dir, "state");
const data = path.join(dir, "dated.csv");
const v1 = path.join(dir, "v1");
const v2 = path.join(dir, "v2");
const local = { FORESIGHT_STATE_DIR: state };
const read = (d: string) => JSON.parse(readFileSync(path.join(d, "model.json"), "utf8")) as ModelArtifact;

// 800 SaaS accounts observed on days spread over 2025 (out of order, so the range is not just the first and last row).
const saas = parseCsv(readFileSync(path.join(ROOT, "test/fixtures/saas-accounts.csv"), "utf8"));
const rows = saas.rows.slice(0, 800);
const day = (i: number) => new Date(Date.UTC(2025, 0, 1) + ((i * 7919) % 800) * 0.4 * 86_400_000).toISOString().slice(0, 10);
const days = rows.map((_, i) => day(i));

const train = (out: string, extra: string[], env: Record<string, string> = local) =>
  runCli("train", ["--data", data, "--label", "churned", "--positive", "yes", "--id", "account_id", "--time", "observed_on", "--budget", "1", "--folds", "3", "--out", out, ...extra], env);

let bare: CliRun;
let first: CliRun;
let second: CliRun;

// Trains v1 on a fresh local stack, publishes and activates it, then trains v2 differently against it.
beforeAll(async () => {
  writeFileSync(data, toCsv([...saas.header, "observed_on"], rows.map((r, i) => [...r, days[i]])));
  execFileSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: ROOT, stdio: "ignore", env: { ...process.env, CI: "true" } });
  bare = await train(path.join(dir, "bare"), ["--family", "logistic"], { FORESIGHT_STATE_DIR: path.join(dir, "nowhere") });
  first = await train(v1, ["--family", "gbdt"]);
  const published = await runCli("publish-model", ["--model", v1, "--local", "--activate"], local);
  if (published.code !== 0) throw new Error(published.stderr);
  // A retrain without one signal and with another family.
  second = await train(v2, ["--family", "logistic", "--exclude", "region"]);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run train and the model's history", () => {
  it("says in one line when there is nothing to compare with, and never fails training for it", () => {
    expect(bare.code).toBe(0);
    expect(bare.stdout.trim().split("\n").at(-1)).toBe(`Against the active model: No local state at ${path.join(dir, "nowhere")}: nothing to compare with (npm start or publish-model --local creates it).`);
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split("\n").at(-1)).toBe("Against the active model: No active churn model in the local registry to compare with.");
  });

  it("records the training facts in the artifact: date range, hold-out, recipe, signals by mean |SHAP|", () => {
    const a1 = read(v1);
    const sorted = [...days].sort();
    expect(a1.training.dateRange).toEqual({ column: "observed_on", from: sorted[0], to: sorted.at(-1) });
    expect(first.stdout).toContain(`dates      observed_on from ${sorted[0]} to ${sorted.at(-1)}`);
    expect(a1.training.holdout).toMatchObject({ method: "newest", fraction: 0.2, timeColumn: "observed_on", rows: 160, range: { column: "observed_on", to: sorted.at(-1) } });
    expect(a1.training.holdout!.range!.from).toBe(sorted[640]);
    expect(a1.training.recipe).toMatchObject({ family: "gbdt", hyperparameters: { earlyStoppingRounds: 0 } });
    expect(a1.training.importance!.map((s) => s.name)).toEqual(expect.arrayContaining(["logins_30d", "tickets_90d", "region"]));
    const shap = a1.training.importance!.map((s) => s.meanAbsShap);
    expect([...shap].sort((x, y) => y - x)).toEqual(shap);
  });

  it("writes the diff against the active model into the summary", () => {
    expect(second.code).toBe(0);
    const a1 = read(v1);
    const a2 = read(v2);
    const summary = second.stdout.slice(second.stdout.indexOf("Against the active model:"));
    expect(summary).toContain(`Against the active model: Against the active churn model ${a1.version} in the local registry.`);
    expect(summary).toContain(`${a2.version} against ${a1.version}`);
    expect(summary).toContain(`recipe       ${a2.training.recipe!.name}`);
    expect(summary).toContain(`was        ${a1.training.recipe!.name}`);
    expect(summary).toContain("Same hold-out (newest 20% by observed_on) on the same data: the deltas compare the same rows.");
    expect(summary).toContain("signals      none added; dropped region");
    const auc = summary.split("\n").find((l) => l.trim().startsWith("ROC-AUC"))!.trim().split(/\s+/);
    const delta = (a2.metrics.auc as number) - (a1.metrics.auc as number);
    expect(auc).toEqual(["ROC-AUC", (a2.metrics.auc as number).toFixed(3), (a1.metrics.auc as number).toFixed(3), `${delta >= 0 ? "+" : "−"}${Math.abs(delta).toFixed(3)}`]);
    // The top signal's line: its rank against v1's ranking.
    const top = a2.training.importance![0];
    const before = a1.training.importance!.findIndex((s) => s.name === top.name) + 1;
    const line = summary.split("\n").find((l) => /^\s+1\s/.test(l))!.trim().split(/\s+/);
    expect(line.slice(0, 2)).toEqual(["1", top.name]);
    expect(line.at(-1)).toBe(before === 1 ? "=" : `${1 - before > 0 ? "+" : "−"}${Math.abs(1 - before)}`);
  });

  it("puts the history in the evaluation report: the local registry with activations, or model directories", async () => {
    const a1 = read(v1);
    const a2 = read(v2);
    expect((await runCli("publish-model", ["--model", v2, "--local", "--activate"], local)).code).toBe(0);
    const fromRegistry = await runCli("evaluate", ["--model", v2, "--data", data, "--history", "local", "--json"], local);
    expect(fromRegistry.code).toBe(0);
    const result = JSON.parse(fromRegistry.stdout.trim().split("\n").at(-1)!);
    expect(result.history.map((e: { version: string }) => e.version)).toEqual([a2.version, a1.version]);
    const [newest, oldest] = result.history;
    expect(newest).toMatchObject({ previous: a1.version, previousBasis: "replaced", signalsDropped: ["region"], metrics: { holdout: { sameDefinition: true, sameRows: true } } });
    expect(newest.activations).toEqual([{ at: expect.any(String), by: "publish-model", previousVersion: a1.version }]);
    expect(newest.metrics.deltas.brier).toBeCloseTo((a2.metrics.brier as number) - (a1.metrics.brier as number), 12);
    expect(oldest).toMatchObject({ previous: null, activations: [{ by: "publish-model", previousVersion: null }] });
    const html = readFileSync(path.join(v2, "report.html"), "utf8");
    expect(html).toContain("<h2>Model history</h2>");
    expect(html).toContain(`<code>${a2.version}</code> against <code>${a1.version}</code> (the version it replaced when activated)`);
    expect(html).toContain("by publish-model (replaced");

    // Without a registry: the directories given, newest first by training time.
    const fromDirs = await runCli("evaluate", ["--model", v1, "--data", data, "--history", v2]);
    expect(fromDirs.code).toBe(0);
    expect(fromDirs.stdout).toContain(`Model history (The model directories ${v1}, ${v2}; newest first)`);
    expect(fromDirs.stdout).toContain(`${a2.version} against ${a1.version} (the version registered before it)`);
    expect(fromDirs.stdout).toContain(`${a1.version}: no previous churn version`);
    // No history asked for: none in the report.
    await runCli("evaluate", ["--model", v1, "--data", data]);
    expect(readFileSync(path.join(v1, "report.html"), "utf8")).not.toContain("Model history");
  }, 120_000);
});
