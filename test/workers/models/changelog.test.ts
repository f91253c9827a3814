/**
 * The model's evolution log: every activation recorded with who, when and what it replaced, and
 * `GET /v1/models/{version}/changelog` diffing real artifacts: the Telco fixture (an older
 * artifact that records less), two logistic retrains of the same CSV (one without two signals,
 * one on another hold-out) and the SaaS model, trained on other data.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publishArtifact } from "../../../shared/db/registry";
import type { ModelArtifact } from "../../../shared/model/artifact";
import v2Json from "../../fixtures/telco-model-v2/model.json";
import v3Json from "../../fixtures/telco-model-v3/model.json";
import { call, createKey, problemOf } from "../helpers";

// Storage is shared by the tests of a file, so each test registers the artifacts under its own versions.
const artifacts = (tag: string) => {
  const as = (a: unknown) => {
    const artifact = structuredClone(a) as ModelArtifact;
    return { ...artifact, version: `${artifact.version}-${tag}` };
  };
  return { telco: as(JSON.parse(env.TEST_MODEL)), v2: as(v2Json), v3: as(v3Json), saas: as(JSON.parse(env.TEST_SAAS_MODEL)), expansion: as(JSON.parse(env.TEST_SAAS_EXPANSION_MODEL)) };
};

interface Changelog {
  version: string;
  target: string;
  previous: string | null;
  previousBasis: string | null;
  data: { current: { rows: number; dateRange: unknown; sha256: string; file: string }; previous: { rows: number; sha256: string } | null; sameData: boolean | null };
  recipe: { current: { family: string; name: string; hyperparameters: Record<string, unknown> | null }; previous: { family: string; name: string; hyperparameters: Record<string, unknown> | null } | null; changed: boolean | null };
  metrics: {
    current: Record<string, number | null>;
    previous: Record<string, number | null> | null;
    deltas: Record<string, number | null> | null;
    holdout: { current: { fraction: number; seed: number; recorded: boolean } | null; previous: { fraction: number; seed: number; recorded: boolean } | null; sameDefinition: boolean | null; sameRows: boolean | null; note: string };
  };
  calibration: { current: { method: string; ece: number; reliability: unknown[] }; previous: { method: string; ece: number } | null };
  topSignals: { name: string; rank: number; meanAbsShap: number; previous: number | null; previousRank: number | null; rankChange: number | null }[];
  signalsAdded: string[];
  signalsDropped: string[];
  monitoring: { count: number; latest: { id: number; modelVersion: string; modelStatus: string } | null };
  activations: { at: string; by: string; previousVersion: string | null }[];
  summary: string;
}

const publish = (a: ModelArtifact, activate = false) => publishArtifact(env, new TextEncoder().encode(JSON.stringify(a)), { activate });
const activeChurn = async () => (await env.DB.prepare("SELECT version FROM models WHERE target = 'churn' AND status = 'active'").first<{ version: string }>())?.version ?? null;
const keyId = (key: string) => key.split("_")[1];

async function changelog(version: string, key: string): Promise<Changelog> {
  const res = await call("GET", `/v1/models/${version}/changelog`, { key });
  expect(res.status).toBe(200);
  return res.json<Changelog>();
}

describe("model activations", () => {
  it("records every activation with the key or CLI that made it, when, and the version it replaced; re-activating the active one records nothing", async () => {
    const { telco, v2, v3 } = artifacts("activations");
    const before = await activeChurn();
    const first = await publish(telco, true);
    await publish(v2);
    await publish(v3);
    const alice = await createKey(["admin"]);
    const bob = await createKey(["admin"]);
    const activate = (version: string, key: string) => call("POST", `/v1/models/${version}/activate`, { key });

    expect(await (await activate(v2.version, alice)).json()).toMatchObject({ version: v2.version, previous: first.version });
    expect(await (await activate(v3.version, bob)).json()).toMatchObject({ version: v3.version, previous: v2.version });
    expect(await (await activate(v2.version, alice)).json()).toMatchObject({ version: v2.version, previous: v3.version });
    expect(await (await activate(v2.version, bob)).json()).toMatchObject({ version: v2.version, previous: null });

    const rows = await env.DB.prepare("SELECT version, target, previous_version, activated_by, activated_at FROM model_activations WHERE version IN (?1, ?2, ?3) ORDER BY id")
      .bind(first.version, v2.version, v3.version)
      .all<{ version: string; target: string; previous_version: string | null; activated_by: string; activated_at: string }>();
    expect(rows.results.map(({ activated_at: _, ...r }) => r)).toEqual([
      { version: first.version, target: "churn", previous_version: before, activated_by: "publish-model" },
      { version: v2.version, target: "churn", previous_version: first.version, activated_by: keyId(alice) },
      { version: v3.version, target: "churn", previous_version: v2.version, activated_by: keyId(bob) },
      { version: v2.version, target: "churn", previous_version: v3.version, activated_by: keyId(alice) },
    ]);
    const times = rows.results.map((r) => r.activated_at);
    expect(times.every((t) => !Number.isNaN(Date.parse(t)))).toBe(true);
    expect([...times].sort()).toEqual(times);
    const model = await env.DB.prepare("SELECT status, activated_at FROM models WHERE version = ?1").bind(v2.version).first<{ status: string; activated_at: string }>();
    expect(model).toEqual({ status: "active", activated_at: times[3] });

    const reader = await createKey(["score"]);
    const log = await changelog(v2.version, reader);
    expect(log.activations).toEqual([
      { at: times[3], by: keyId(alice), previousVersion: v3.version },
      { at: times[1], by: keyId(alice), previousVersion: first.version },
    ]);
    // Its previous version is the one it replaced at its first activation, not the one it replaced last.
    expect(log.previous).toBe(first.version);
    expect(log.previousBasis).toBe("replaced");
  });
});

describe("GET /v1/models/{version}/changelog", () => {
  it("diffs a retrain on another hold-out: recipe, metrics with deltas flagged as different hold-outs, calibration, signal ranks, signals added; monitoring while active", async () => {
    const { telco, v2, v3 } = artifacts("retrain");
    await publish(telco, true);
    await publish(v2);
    await publish(v3);
    const admin = await createKey(["admin"]);
    await call("POST", `/v1/models/${v2.version}/activate`, { key: admin });
    const computed = await call("POST", `/v1/models/${v2.version}/performance/compute`, { key: admin });
    expect(computed.status).toBe(201);
    const whileActive = (await computed.json<{ performance: { id: number } }>()).performance.id;
    await call("POST", `/v1/models/${v3.version}/activate`, { key: admin });
    // Computed once v2 was retired: not "while it was active".
    expect((await call("POST", `/v1/models/${v2.version}/performance/compute`, { key: admin })).status).toBe(201);

    const ingest = await createKey(["ingest"]);
    const log = await changelog(v3.version, ingest);
    expect(log).toMatchObject({ version: v3.version, target: "churn", previous: v2.version, previousBasis: "replaced" });
    expect(log.data).toEqual({
      current: { rows: 7043, dateRange: null, sha256: v3.training.dataSha256, file: "telco.csv" },
      previous: { rows: 7043, dateRange: null, sha256: v2.training.dataSha256, file: "telco.csv" },
      sameData: true,
    });
    expect(log.recipe.current).toMatchObject({ family: "logistic", name: "logistic (L2 1e-4)" });
    expect(log.recipe.current.hyperparameters).toMatchObject({ l2: 1e-4, seed: 7 });
    expect(log.recipe.previous?.hyperparameters).toMatchObject({ l2: 1e-4, seed: 42 });
    expect(log.recipe.changed).toBe(true);

    for (const k of ["auc", "prAuc", "brier", "logLoss", "ece", "intervalCoverage"] as const) {
      expect(log.metrics.current[k]).toBe(v3.metrics[k]);
      expect(log.metrics.previous?.[k]).toBe(v2.metrics[k]);
      expect(log.metrics.deltas?.[k]).toBeCloseTo((v3.metrics[k] as number) - (v2.metrics[k] as number), 12);
    }
    expect(log.metrics.holdout).toMatchObject({ current: { fraction: 0.25, seed: 7, recorded: true }, previous: { fraction: 0.2, seed: 42, recorded: true }, sameDefinition: false, sameRows: false });
    expect(log.metrics.holdout.note).toContain("stratified 25%, seed 7 against stratified 20%, seed 42");
    expect(log.calibration.current).toEqual({ method: "isotonic", ece: v3.metrics.ece, reliability: v3.metrics.reliability });
    expect(log.calibration.previous).toMatchObject({ method: "isotonic", ece: v2.metrics.ece });

    // v3's top 10 by mean |SHAP| against v2's ranking of the same signals.
    expect(log.topSignals).toHaveLength(10);
    expect(log.topSignals.slice(0, 3)).toEqual([
      { name: "Contract", rank: 1, meanAbsShap: v3.training.importance![0].meanAbsShap, previous: v2.training.importance![0].meanAbsShap, previousRank: 1, rankChange: 0 },
      { name: "MonthlyCharges", rank: 2, meanAbsShap: v3.training.importance![1].meanAbsShap, previous: v2.training.importance![2].meanAbsShap, previousRank: 3, rankChange: 1 },
      { name: "TotalCharges", rank: 3, meanAbsShap: v3.training.importance![2].meanAbsShap, previous: v2.training.importance![1].meanAbsShap, previousRank: 2, rankChange: -1 },
    ]);
    const before = v2.training.importance!.map((s) => s.name);
    for (const s of log.topSignals) {
      const k = before.indexOf(s.name);
      expect(s.previousRank).toBe(k < 0 ? null : k + 1);
      expect(s.rankChange).toBe(k < 0 ? null : k + 1 - s.rank);
    }
    // v2 was trained with --exclude gender,PhoneService; v3 uses them again.
    expect(log.signalsAdded.sort()).toEqual(["PhoneService", "gender"]);
    expect(log.signalsDropped).toEqual([]);

    const v2Log = await changelog(v2.version, ingest);
    expect(v2Log.monitoring.count).toBe(1);
    expect(v2Log.monitoring.latest).toMatchObject({ id: whileActive, modelVersion: v2.version, modelStatus: "active" });
    expect(log.monitoring).toEqual({ count: 0, latest: null });
  });

  it("against an older artifact: derives its hold-out, has no settings or signal ranking for it, and lists the signals dropped", async () => {
    const { telco, v2, expansion } = artifacts("older");
    const first = await publish(telco, true);
    await publish(v2);
    const admin = await createKey(["admin"]);
    await call("POST", `/v1/models/${v2.version}/activate`, { key: admin });
    const log = await changelog(v2.version, admin);
    expect(log.previous).toBe(first.version);
    expect(log.recipe.previous).toEqual({ family: "blend", name: telco.metrics.recipe, hyperparameters: null });
    expect(log.metrics.previous?.auc).toBe(telco.metrics.auc);
    expect(log.metrics.holdout).toMatchObject({ previous: { fraction: 0.2, seed: 42, recorded: false }, sameDefinition: true, sameRows: true });
    expect(log.metrics.deltas?.auc).toBeCloseTo((v2.metrics.auc as number) - (telco.metrics.auc as number), 12);
    expect(log.topSignals.map((s) => s.name)).toEqual(v2.training.importance!.slice(0, 10).map((s) => s.name));
    expect(log.topSignals.every((s) => s.previous === null && s.previousRank === null && s.rankChange === null)).toBe(true);
    expect(log.signalsDropped.sort()).toEqual(["PhoneService", "gender"]);
    expect(log.signalsAdded).toEqual([]);

    // The first version of its target (no other test registers an expansion model) has nothing before it.
    await publish(expansion);
    await call("POST", `/v1/models/${expansion.version}/activate`, { key: admin });
    const firstLog = await changelog(expansion.version, admin);
    expect(firstLog).toMatchObject({ target: "expansion", previous: null, previousBasis: null, data: { previous: null, sameData: null }, metrics: { previous: null, deltas: null }, signalsAdded: [], signalsDropped: [] });
    expect(firstLog.activations).toEqual([{ at: expect.any(String), by: keyId(admin), previousVersion: null }]);
    expect(firstLog.summary).toBe(`${expansion.version} has no previous expansion version to compare with.`);
  });

  it("compares a never-activated version with the one registered before it, on other data", async () => {
    const { telco, v2, saas } = artifacts("other-data");
    await publish(telco, true);
    await publish(v2);
    await publish(saas);
    const reader = await createKey(["score"]);
    const log = await changelog(saas.version, reader);
    expect(log).toMatchObject({ previous: v2.version, previousBasis: "created-before", activations: [], monitoring: { count: 0, latest: null } });
    expect(log.data.sameData).toBe(false);
    expect(log.data.current).toMatchObject({ rows: 1500, file: "saas-accounts.csv" });
    expect(log.metrics.holdout).toMatchObject({ sameDefinition: true, sameRows: false });
    expect(log.signalsAdded.sort()).toEqual(saas.features.map((f) => f.name).sort());
    expect(log.signalsDropped.sort()).toEqual(v2.features.map((f) => f.name).sort());
  });

  it("answers 404 for an unknown version, 409 when the artifact is gone from R2, and needs a key", async () => {
    const reader = await createKey(["score"]);
    const missing = await call("GET", "/v1/models/no-such-version/changelog", { key: reader });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).errors![0].field).toBe("version");
    await env.DB.prepare("INSERT INTO models (version, family, r2_key, sha256, size_bytes, metrics, status) VALUES ('ghost-2', 'logistic', 'models/ghost-2/model.json', 'abc', 1, '{}', 'candidate')").run();
    const ghost = await call("GET", "/v1/models/ghost-2/changelog", { key: reader });
    expect(ghost.status).toBe(409);
    expect((await problemOf(ghost)).type).toBe("/problems/artifact-integrity");
    expect((await call("GET", "/v1/models/no-such-version/changelog")).status).toBe(401);
    expect((await call("GET", "/v1/models/bad%20version/changelog", { key: reader })).status).toBe(422);
  });
});
