/** `POST /v1/score`: raw signals and stored accounts, tiers, imputation, exact drivers. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Account, ScoreResult } from "../../../client/index";
import { call, createKey, loyalCustomer, publishTelcoModel, riskyCustomer } from "../helpers";

let key: string;
let version: string;

beforeAll(async () => {
  version = (await publishTelcoModel()).version;
  key = await createKey(["score", "ingest"]);
});

describe("POST /v1/score", () => {
  it("scores a month-to-month fibre customer of 2 months above 0.5, with drivers in the user's column names", async () => {
    const res = await call("POST", "/v1/score", { key, body: { features: riskyCustomer } });
    expect(res.status).toBe(200);
    const s = await res.json<ScoreResult>();
    expect(s.churnProbability).toBeGreaterThan(0.5);
    expect(s.churnProbability).toBeLessThan(1);
    expect(["red", "yellow"]).toContain(s.riskTier);
    expect(s.modelVersion).toBe(version);
    expect(s.imputed).toEqual([]);
    expect(s.interval[0]).toBeLessThanOrEqual(s.churnProbability);
    expect(s.interval[1]).toBeGreaterThanOrEqual(s.churnProbability);
    expect(s.interval[1] - s.interval[0]).toBeGreaterThan(0);
    expect(["high", "medium", "low"]).toContain(s.confidence);
    const names = s.drivers.map((d) => d.feature);
    expect(names).toContain("Contract");
    expect(names.every((n) => Object.keys(riskyCustomer).includes(n))).toBe(true);
    const contract = s.drivers.find((d) => d.feature === "Contract")!;
    expect(contract.contribution).toBeGreaterThan(0);
    expect(contract.effect).toBe("raises risk");
  });

  it("tiers by the model's thresholds: a loyal two-year customer is green", async () => {
    const s = await (await call("POST", "/v1/score", { key, body: { features: loyalCustomer } })).json<ScoreResult>();
    expect(s.churnProbability).toBeLessThan(0.4);
    expect(s.riskTier).toBe("green");
  });

  it("reports missing and null features as imputed and still scores", async () => {
    const { tenure: _t, ...rest } = riskyCustomer;
    const res = await call("POST", "/v1/score", { key, body: { features: { ...rest, TotalCharges: null } } });
    expect(res.status).toBe(200);
    const s = await res.json<ScoreResult>();
    expect(s.imputed.sort()).toEqual(["TotalCharges", "tenure"]);
    expect(s.churnProbability).toBeGreaterThan(0);
    expect(s.confidence).not.toBe("high");
  });

  it("drivers are exact: base value plus every contribution is the log-odds", async () => {
    const res = await call("POST", "/v1/score?drivers=all", { key, body: { features: riskyCustomer } });
    const s = await res.json<ScoreResult>();
    expect(s.drivers.length).toBeGreaterThan(10);
    // Drivers explain the model's log-odds (`margin`); calibration then maps it monotonically.
    const sum = s.baseValue + s.drivers.reduce((a, d) => a + d.contribution, 0);
    expect(Math.abs(s.margin - sum)).toBeLessThan(1e-9);
    expect(s.driversMethod).toBe("exact");
    const top3 = await (await call("POST", "/v1/score?drivers=3", { key, body: { features: riskyCustomer } })).json<ScoreResult>();
    expect(top3.drivers.map((d) => d.feature)).toEqual(s.drivers.slice(0, 3).map((d) => d.feature));
  });

  it("scores a stored account by id and keeps the score in its history", async () => {
    expect((await call("PUT", "/v1/accounts/ACC-RISKY", { key, body: { name: "Risky Co", arr: 1146, features: riskyCustomer } })).status).toBe(200);
    const res = await call("POST", "/v1/score", { key, body: { accountId: "ACC-RISKY" } });
    expect(res.status).toBe(200);
    const s = await res.json<ScoreResult>();
    expect(s.accountId).toBe("ACC-RISKY");
    const rows = await env.DB.prepare("SELECT model_version, risk_tier FROM scores WHERE account_id = ?").bind("ACC-RISKY").all();
    expect(rows.results).toEqual([{ model_version: version, risk_tier: s.riskTier }]);
    const account = await (await call("GET", "/v1/accounts/ACC-RISKY", { key })).json<Account>();
    expect(account.score!.churnProbability).toBeCloseTo(s.churnProbability, 12);
  });

  it("404s an unknown account id as problem+json", async () => {
    const res = await call("POST", "/v1/score", { key, body: { accountId: "NOPE" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
