/**
 * Expansion readiness: the cold-start scorecard on Telco (no expansion labels), a trained
 * expansion model once one is active, and the banner route's caching, CORS and key scope.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publishArtifact } from "../../../shared/db/registry";
import type { ExpansionAnswer, ModelList, ScoreResult } from "../../../client/index";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

/** A loyal customer with few add-ons: long tenure, low churn, room to grow. */
const growable = { ...loyalCustomer, tenure: 70, OnlineSecurity: "No", TechSupport: "No", OnlineBackup: "No", DeviceProtection: "No", StreamingTV: "No", StreamingMovies: "No", MultipleLines: "No" };

describe("expansion readiness from the cold-start scorecard", () => {
  it("calls an engaged, low-risk account with room to grow ready (blue), and a red account not ready, with reasons", async () => {
    await publishTelcoModel();
    const key = await createKey(["score", "ingest"]);
    await call("PUT", "/v1/accounts/EXP-BLUE", { key, body: { arr: 9000, features: growable } });
    await call("PUT", "/v1/accounts/EXP-RED", { key, body: { arr: 9000, features: riskyCustomer } });
    const blue = await (await call("POST", "/v1/score", { key, body: { accountId: "EXP-BLUE" } })).json<ScoreResult>();
    expect(blue.riskTier).toBe("green");
    expect(blue.tier).toBe("blue");
    expect(blue.expansion.source).toBe("scorecard");
    expect(blue.expansion.reason).toMatch(/^Expansion-ready: high tenure .*room to grow \(\d of 8 add-ons adopted\).*low churn risk/);
    const red = await (await call("POST", "/v1/score", { key, body: { accountId: "EXP-RED" } })).json<ScoreResult>();
    expect(red.tier).toBe("red");
    expect(red.expansion.expansionReady).toBe(false);
    expect(red.expansion.reason).toMatch(/retain first/);
    // Saturated: the same loyal customer with every add-on has less room, so a lower readiness.
    const saturated = { ...growable, OnlineSecurity: "Yes", TechSupport: "Yes", OnlineBackup: "Yes", DeviceProtection: "Yes", StreamingTV: "Yes", StreamingMovies: "Yes", MultipleLines: "Yes" };
    const full = await (await call("POST", "/v1/score", { key, body: { features: saturated } })).json<ScoreResult>();
    expect(full.expansion.expansionProbability).toBeLessThan(blue.expansion.expansionProbability);

    // The banner route answers from the stored score.
    const banner = await createKey(["banner"]);
    const res = await call("GET", "/v1/accounts/EXP-BLUE/expansion", { key: banner });
    expect(res.status).toBe(200);
    const answer = await res.json<ExpansionAnswer>();
    expect(answer).toMatchObject({ accountId: "EXP-BLUE", expansionReady: true, source: "scorecard" });
    expect(answer.expansionProbability).toBeCloseTo(blue.expansion.expansionProbability, 12);
    expect((await (await call("GET", "/v1/accounts/EXP-RED/expansion", { key: banner })).json<ExpansionAnswer>()).expansionReady).toBe(false);
  });
});

describe("the banner route", () => {
  it("is small and cacheable: ETag, Cache-Control, 304 on If-None-Match; a changed account gets a new ETag", async () => {
    await publishTelcoModel();
    const key = await createKey(["score", "ingest"]);
    const banner = await createKey(["banner"]);
    await call("PUT", "/v1/accounts/EXP-CACHE", { key, body: { features: growable } });
    // Never scored: the answer is computed on the fly and nothing is stored.
    const first = await call("GET", "/v1/accounts/EXP-CACHE/expansion", { key: banner });
    expect(first.status).toBe(200);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{20}"$/);
    expect(first.headers.get("cache-control")).toBe("private, max-age=60");
    expect((await first.text()).length).toBeLessThan(400);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE account_id = 'EXP-CACHE'").first<{ n: number }>())!.n).toBe(0);
    const again = await call("GET", "/v1/accounts/EXP-CACHE/expansion", { key: banner, headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    // New signals make it red: a different answer, a different ETag, and no 304.
    await call("PATCH", "/v1/accounts/EXP-CACHE", { key, body: { features: { tenure: 1, Contract: "Month-to-month", InternetService: "Fiber optic", PaymentMethod: "Electronic check", MonthlyCharges: 105 } } });
    const changed = await call("GET", "/v1/accounts/EXP-CACHE/expansion", { key: banner, headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect((await changed.json<ExpansionAnswer>()).expansionReady).toBe(false);
    expect((await call("GET", "/v1/accounts/NOPE/expansion", { key: banner })).status).toBe(404);
  });

  it("answers CORS preflights without a key and sets CORS headers on answers", async () => {
    await publishTelcoModel();
    const key = await createKey(["ingest"]);
    const banner = await createKey(["banner"]);
    await call("PUT", "/v1/accounts/EXP-CORS", { key, body: { features: growable } });
    const preflight = await call("OPTIONS", "/v1/accounts/EXP-CORS/expansion", {
      headers: { origin: "https://app.example.com", "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const res = await call("GET", "/v1/accounts/EXP-CORS/expansion", { key: banner, headers: { origin: "https://app.example.com" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("etag");
  });

  it("a banner-only key can call this route and nothing else", async () => {
    await publishTelcoModel();
    const banner = await createKey(["banner"]);
    for (const [method, path, body] of [
      ["POST", "/v1/score", { features: riskyCustomer }],
      ["GET", "/v1/accounts/EXP-CORS", undefined],
      ["GET", "/v1/accounts", undefined],
      ["GET", "/v1/portfolio", undefined],
      ["GET", "/v1/models", undefined],
      ["PUT", "/v1/accounts/X", { features: riskyCustomer }],
    ] as const) {
      const res = await call(method, path, { key: banner, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await problemOf(res)).errors![0].field).toBe("authorization");
    }
  });
});

describe("expansion readiness from a trained expansion model", () => {
  it("switches to source: model once an expansion model is active, using its threshold", async () => {
    await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_MODEL), { activate: true });
    const key = await createKey(["score", "ingest"]);
    const engaged = { plan: "starter", seats: 30, logins_30d: 29, tickets_90d: 0, nps: 10, is_trial: "no", region: "NA" };
    const before = await (await call("POST", "/v1/score", { key, body: { features: engaged } })).json<ScoreResult>();
    expect(before.expansion.source).toBe("scorecard");

    const expansion = await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_EXPANSION_MODEL), { activate: true });
    const threshold = (JSON.parse(env.TEST_SAAS_EXPANSION_MODEL) as { readyThreshold: number }).readyThreshold;
    const after = await (await call("POST", "/v1/score", { key, body: { features: engaged } })).json<ScoreResult>();
    expect(after.expansion.source).toBe("model");
    expect(after.expansion.modelVersion).toBe(expansion.version);
    expect(after.expansion.expansionProbability).toBeGreaterThanOrEqual(threshold);
    expect(after.churnProbability).toBeLessThan(0.4);
    expect(after.expansion.expansionReady).toBe(true);
    expect(after.tier).toBe("blue");
    const disengaged = { plan: "enterprise", seats: 300, logins_30d: 3, tickets_90d: 6, nps: 4, is_trial: "yes", region: "EMEA" };
    const low = await (await call("POST", "/v1/score", { key, body: { features: disengaged } })).json<ScoreResult>();
    expect(low.expansion.expansionReady).toBe(false);
    expect(low.expansion.expansionProbability).toBeLessThan(after.expansion.expansionProbability);
    // Both models appear in the registry, each with its target.
    const models = await (await call("GET", "/v1/models?status=active", { key })).json<ModelList>();
    expect(models.models.map((m) => m.target).sort()).toEqual(["churn", "expansion"]);
  });
});
