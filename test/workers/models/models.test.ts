/** The model registry: artifacts in R2 checked by sha256, listing, activation and rollback. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Activation, ModelList, ScoreHistory, ScoreResult } from "../../../client/index";
import { sha256Hex } from "../../../shared/hash";
import { publishArtifact } from "../../../shared/db/registry";
import { call, createKey, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

describe("model registry", () => {
  it("stores the artifact in R2 under models/{version}/ with its sha256 and registers it in D1", async () => {
    const published = await publishTelcoModel();
    expect(published.r2Key).toBe(`models/${published.version}/model.json`);
    const object = await env.MODELS.get(published.r2Key);
    expect(object?.customMetadata?.sha256).toBe(await sha256Hex(new TextEncoder().encode(env.TEST_MODEL)));
    const row = await env.DB.prepare("SELECT status, sha256 FROM models WHERE version = ?").bind(published.version).first();
    expect(row).toEqual({ status: "active", sha256: published.sha256 });
    // Publishing the same bytes again changes nothing.
    expect((await publishTelcoModel()).alreadyPublished).toBe(true);
  });

  it("refuses an artifact whose sha256 does not match, and the previous active model keeps serving", async () => {
    const good = await publishTelcoModel();
    const key = await createKey(["score"]);
    const before = await (await call("POST", "/v1/score", { key, body: { features: riskyCustomer } })).json<ScoreResult>();
    expect(before.modelVersion).toBe(good.version);

    // A tampered artifact: registered with one hash, stored with other bytes, then activated.
    const artifact = JSON.parse(env.TEST_MODEL);
    artifact.version = "tampered-1";
    const honest = JSON.stringify(artifact);
    artifact.model.intercept += 5;
    const tampered = JSON.stringify(artifact);
    await env.MODELS.put("models/tampered-1/model.json", tampered);
    await env.DB.prepare("INSERT INTO models (version, family, r2_key, sha256, size_bytes, metrics, status) VALUES ('tampered-1', 'logistic', 'models/tampered-1/model.json', ?, 1, '{}', 'candidate')")
      .bind(await sha256Hex(honest))
      .run();
    await env.DB.batch([
      env.DB.prepare("UPDATE models SET status = 'retired' WHERE status = 'active'"),
      env.DB.prepare("UPDATE models SET status = 'active', activated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE version = 'tampered-1'"),
    ]);

    const after = await (await call("POST", "/v1/score", { key, body: { features: riskyCustomer } })).json<ScoreResult>();
    expect(after.modelVersion).toBe(good.version);
    expect(after.churnProbability).toBe(before.churnProbability);
  });
});

describe("GET /v1/models and POST /v1/models/{version}/activate", () => {
  it("lists versions with metrics and status; activation promotes, rollback re-activates the previous one", async () => {
    const telco = await publishTelcoModel();
    // A second churn version: the same model under another version id, as a retrain would publish.
    const artifact = JSON.parse(env.TEST_MODEL);
    artifact.version = `${telco.version}-b`;
    artifact.model.members ? (artifact.model.members[0].weight *= 0.5) : (artifact.model.intercept += 0.5);
    const second = await publishArtifact(env, new TextEncoder().encode(JSON.stringify(artifact)));
    expect(second.status).toBe("candidate");

    const admin = await createKey(["admin"]);
    const reader = await createKey(["score"]);
    const list = await (await call("GET", "/v1/models?target=churn", { key: reader })).json<ModelList>();
    const byVersion = new Map(list.models.map((m) => [m.version, m]));
    expect(byVersion.get(telco.version)?.status).toBe("active");
    expect(byVersion.get(second.version)?.status).toBe("candidate");
    expect(byVersion.get(telco.version)?.metrics.auc).toBeGreaterThan(0.8);

    // Only admin keys may activate.
    expect((await call("POST", `/v1/models/${second.version}/activate`, { key: reader })).status).toBe(403);
    const promoted = await call("POST", `/v1/models/${second.version}/activate`, { key: admin });
    expect(promoted.status).toBe(200);
    expect(await promoted.json()).toEqual({ version: second.version, target: "churn", status: "active", previous: telco.version });
    const scored = await (await call("POST", "/v1/score", { key: reader, body: { features: riskyCustomer } })).json<ScoreResult>();
    expect(scored.modelVersion).toBe(second.version);
    // Every stored score records the version that produced it.
    await call("PUT", "/v1/accounts/MODEL-ACC", { key: admin, body: { features: riskyCustomer } });
    await call("POST", "/v1/score", { key: admin, body: { accountId: "MODEL-ACC" } });

    const rolledBack = await call("POST", `/v1/models/${telco.version}/activate`, { key: admin });
    expect((await rolledBack.json<Activation>()).previous).toBe(second.version);
    await call("POST", "/v1/score", { key: admin, body: { accountId: "MODEL-ACC" } });
    const history = await (await call("GET", "/v1/accounts/MODEL-ACC/scores", { key: admin })).json<ScoreHistory>();
    expect(history.scores.map((s) => s.modelVersion)).toEqual([telco.version, second.version]);
    const statuses = await (await call("GET", "/v1/models?target=churn", { key: reader })).json<ModelList>();
    expect(statuses.models.find((m) => m.version === second.version)?.status).toBe("retired");

    const missing = await call("POST", "/v1/models/no-such-version/activate", { key: admin });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).errors![0].field).toBe("version");
  });

  it("refuses to activate a version whose artifact is missing or altered in R2 (409), leaving the active one alone", async () => {
    const telco = await publishTelcoModel();
    const admin = await createKey(["admin"]);
    await env.DB.prepare("INSERT INTO models (version, family, r2_key, sha256, size_bytes, metrics, status) VALUES ('ghost-1', 'logistic', 'models/ghost-1/model.json', 'abc', 1, '{}', 'candidate')").run();
    const res = await call("POST", "/v1/models/ghost-1/activate", { key: admin });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).type).toBe("/problems/artifact-integrity");
    const active = await env.DB.prepare("SELECT version FROM models WHERE target = 'churn' AND status = 'active'").first<{ version: string }>();
    expect(active?.version).toBe(telco.version);
  });
});
