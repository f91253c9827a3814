import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/keys";
import { call, createKey, publishTelcoModel, riskyCustomer } from "./helpers";

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
    const before = await (await call("POST", "/v1/score", { key, body: { features: riskyCustomer } })).json<{ modelVersion: string; churnProbability: number }>();
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

    const after = await (await call("POST", "/v1/score", { key, body: { features: riskyCustomer } })).json<{ modelVersion: string; churnProbability: number }>();
    expect(after.modelVersion).toBe(good.version);
    expect(after.churnProbability).toBe(before.churnProbability);
  });
});
