/** A model trained on another CSV's columns serves through the same scoring API, in its own column names. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ScoreResult } from "../../../client/index";
import { publishArtifact } from "../../../shared/db/registry";
import { call, createKey, problemOf, riskyCustomer } from "../helpers";

describe("a model trained on a CSV with entirely different columns", () => {
  it("serves through the same API, in its own column names, with no code changes", async () => {
    const published = await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_MODEL), { activate: true });
    const key = await createKey(["score"]);
    const risky = { plan: "starter", seats: 4, logins_30d: 2, tickets_90d: 7, nps: 3, is_trial: "yes", region: "NA" };
    const healthy = { plan: "enterprise", seats: 250, logins_30d: 28, tickets_90d: 0, nps: 9, is_trial: "no", region: "EMEA" };
    const r = await (await call("POST", "/v1/score", { key, body: { features: risky } })).json<ScoreResult>();
    const h = await (await call("POST", "/v1/score", { key, body: { features: healthy } })).json<ScoreResult>();
    expect(r.modelVersion).toBe(published.version);
    expect(r.riskTier).toBe("red");
    expect(h.riskTier).toBe("green");
    expect(r.drivers.map((d) => d.feature)).toEqual(expect.arrayContaining(["logins_30d", "tickets_90d", "is_trial"]));

    // Telco's columns mean nothing to this model, and the API says so.
    const res = await call("POST", "/v1/score", { key, body: { features: { tenure: riskyCustomer.tenure } } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0].field).toBe("features.tenure");
  });
});
