import { describe, expect, it } from "vitest";
import { call } from "../helpers";

describe("service surface", () => {
  it("GET /healthz answers ok without a key", async () => {
    const res = await call("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("serves OpenAPI 3.1 listing every route, with bearer security on /v1", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<{ openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> }>();
    expect(doc.openapi).toMatch(/^3\.1\./);
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        "GET /healthz",
        "POST /v1/score",
        "PUT /v1/accounts/{id}",
        "PATCH /v1/accounts/{id}",
        "GET /v1/accounts/{id}",
        "POST /v1/accounts/batch",
        "POST /v1/outcomes",
        "POST /v1/score/batch",
        "GET /v1/portfolio",
        "GET /v1/accounts",
        "GET /v1/accounts/{id}/scores",
        "GET /v1/accounts/{id}/expansion",
        "GET /v1/models",
        "POST /v1/models/{version}/activate",
        "GET /v1/playbooks",
        "POST /v1/playbooks",
        "PUT /v1/playbooks/{id}",
        "PATCH /v1/playbooks/{id}",
        "DELETE /v1/playbooks/{id}",
        "GET /v1/accounts/{id}/recommendation",
        "POST /v1/interventions",
        "PATCH /v1/interventions/{id}",
        "GET /v1/accounts/{id}/interventions",
        "GET /v1/impact",
        "GET /v1/worklist",
        "GET /v1/worklist/owners",
        "POST /v1/accounts/{id}/feedback",
        "GET /v1/adoption",
        "GET /v1/insights",
      ]),
    );
    expect(doc.paths["/v1/score"].post.security).toEqual([{ bearer: [] }]);
  });

  it("serves the docs UI at /docs", async () => {
    const res = await call("GET", "/docs");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("openapi.json");
  });
});
