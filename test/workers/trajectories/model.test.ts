/**
 * A trajectory model in the Worker: published and activated like the churn models (its R2
 * artifact checked), it forecasts `GET /v1/accounts/{id}/trajectory` and rescoring with
 * `source: "model"`, from the same inputs training used.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RescoreStarted, ResponseBody } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { healthOf } from "../../../shared/cs/trajectory";
import { publishArtifact } from "../../../shared/db/registry";
import { TrajectoryModel, trajectoryInputs } from "../../../shared/model/trajectory";
import { call, createKey, loyalCustomer, publishTelcoModel, waitForRun } from "../helpers";

let admin: string;
let version: string;
const today = new Date().toISOString().slice(0, 10);
const history = [70, 66, 62, 58].map((health, i) => ({ date: addDays(today, -7 * (4 - i)), health }));
// The Telco signals the account carries, plus the synthetic panel's signals the model reads.
const features = { ...loyalCustomer, tenure: 24, Contract: "One year" };

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  const published = await publishArtifact(env, new TextEncoder().encode(env.TEST_TRAJECTORY_MODEL));
  version = published.version;
  expect((await call("PUT", "/v1/accounts/TM-1", { key: admin, body: { name: "Model Co", renewalDate: addDays(today, 200), features } })).status).toBe(200);
  expect((await call("POST", "/v1/score", { key: admin, body: { accountId: "TM-1" } })).status).toBe(200);
  await env.DB.prepare("UPDATE accounts SET health_history = ?1 WHERE id = 'TM-1'").bind(JSON.stringify(history)).run();
});

describe("an active trajectory model", () => {
  it("is activated through the API after its R2 artifact is checked, and listed under its target", async () => {
    const res = await call("POST", `/v1/models/${version}/activate`, { key: admin });
    expect(res.status).toBe(200);
    expect(await res.json<ResponseBody<"/v1/models/{version}/activate", "post">>()).toMatchObject({ version, target: "trajectory", status: "active" });
    const listed = await (await call("GET", "/v1/models?target=trajectory", { key: admin })).json<ResponseBody<"/v1/models", "get">>();
    expect(listed.models.map((m) => m.version)).toEqual([version]);
  });

  it("forecasts the trajectory, exactly as the shared model does on the same inputs", async () => {
    const t = await (await call("GET", "/v1/accounts/TM-1/trajectory", { key: admin })).json<ResponseBody<"/v1/accounts/{id}/trajectory", "get">>();
    expect(t.source).toBe("model");
    const model = TrajectoryModel.fromJSON(env.TEST_TRAJECTORY_MODEL);
    const expected = model.forecast(
      trajectoryInputs(model.signals, { asOf: today, health: t.health, signals: features, daysToRenewal: 200, healthHistory: history, signalHistory: [] }),
    );
    expect(t.horizons).toEqual(expected);
    for (const h of t.horizons) expect(h.lower <= h.health && h.health <= h.upper).toBe(true);
  });

  it("forecasts rescoring's stored trajectory too", { timeout: 40_000 }, async () => {
    const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
    expect((await waitForRun(admin, started.runId, 30_000)).status).toBe("completed");
    const row = await env.DB.prepare("SELECT churn_probability, health, health_90, health_90_low, health_90_high FROM scores WHERE run_id = ?1 AND account_id = 'TM-1'")
      .bind(started.runId)
      .first<{ churn_probability: number; health: number; health_90: number; health_90_low: number; health_90_high: number }>();
    const model = TrajectoryModel.fromJSON(env.TEST_TRAJECTORY_MODEL);
    const snapshots = await env.DB.prepare("SELECT as_of, features FROM signal_snapshots WHERE account_id = 'TM-1' AND as_of < ?1 ORDER BY as_of").bind(today).all<{ as_of: string; features: string }>();
    const far = model.forecast(
      trajectoryInputs(model.signals, {
        asOf: today,
        health: healthOf(row!.churn_probability),
        signals: features,
        daysToRenewal: 200,
        healthHistory: history,
        signalHistory: snapshots.results.map((s) => ({ date: s.as_of, signals: JSON.parse(s.features) as Record<string, number> })),
      }),
    )[2];
    expect({ health: row!.health_90, lower: row!.health_90_low, upper: row!.health_90_high }).toEqual({ health: far.health, lower: far.lower, upper: far.upper });
  });
});
