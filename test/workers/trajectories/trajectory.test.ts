/**
 * Trajectories in workerd with real D1 and Queues: GET /v1/accounts/{id}/trajectory from the
 * account's weekly history, rescoring storing health, the 90-day forecast, trend and actBy with the
 * score and the history on the account, the worklist's trend filter and actBy sort, and
 * account.trend_changed when an account turns declining.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RescoreStarted, ResponseBody, Worklist } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";

type TrajectoryBody = ResponseBody<"/v1/accounts/{id}/trajectory", "get">;

let admin: string;
const today = new Date().toISOString().slice(0, 10);
/** Weekly points ending a week ago, oldest first. */
const weekly = (values: number[]) => values.map((health, i) => ({ date: addDays(today, -7 * (values.length - i)), health }));

async function setHistory(id: string, values: number[]) {
  await env.DB.prepare("UPDATE accounts SET health_history = ?2 WHERE id = ?1").bind(id, JSON.stringify(weekly(values))).run();
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  const accounts = [
    // Mid-risk (health about 60): a steady fall reaches red within the forecast.
    { id: "TJ-FALLING", arr: 50_000, features: { ...riskyCustomer, tenure: 24, Contract: "One year", TotalCharges: 2280 } },
    { id: "TJ-RED", arr: 20_000, features: riskyCustomer },
    { id: "TJ-RENEWAL", arr: 30_000, features: loyalCustomer, renewalDate: addDays(today, 30) },
    { id: "TJ-STEADY", arr: 10_000, features: loyalCustomer },
  ];
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);
  expect((await call("POST", "/v1/score/batch", { key: admin, body: { rows: accounts.map((a) => ({ accountId: a.id })) } })).status).toBe(200);
});

describe("GET /v1/accounts/{id}/trajectory", () => {
  it("forecasts a steady account from its own trend: stable, nothing due, history ending today", async () => {
    const account = await (await call("GET", "/v1/accounts/TJ-STEADY", { key: admin })).json<ResponseBody<"/v1/accounts/{id}", "get">>();
    const health = account.score!.health;
    await setHistory("TJ-STEADY", [health, health, health, health]);
    const res = await call("GET", "/v1/accounts/TJ-STEADY/trajectory", { key: admin });
    expect(res.status).toBe(200);
    const t = await res.json<TrajectoryBody>();
    expect(t.source).toBe("trend");
    expect(t.health).toBe(health);
    expect(t.horizons.map((h) => h.days)).toEqual([30, 60, 90]);
    for (const h of t.horizons) {
      expect(h.health).toBe(health);
      expect(h.lower).toBeLessThanOrEqual(h.health);
      expect(h.upper).toBeGreaterThanOrEqual(h.health);
    }
    expect(t.trend).toBe("stable");
    expect(t.actBy).toBeNull();
    expect(t.history.at(-1)).toEqual({ date: today, health });
    expect(t.history.length).toBe(5);
  });

  it("says declining and when to act for a falling account", async () => {
    const account = await (await call("GET", "/v1/accounts/TJ-FALLING", { key: admin })).json<ResponseBody<"/v1/accounts/{id}", "get">>();
    const now = account.score!.health;
    // Falling 6 points a week to today's health: red (30) is weeks away.
    await setHistory("TJ-FALLING", [now + 24, now + 18, now + 12, now + 6]);
    const t = await (await call("GET", "/v1/accounts/TJ-FALLING/trajectory", { key: admin })).json<TrajectoryBody>();
    expect(t.trend).toBe("declining");
    expect(t.horizons[2].upper).toBeLessThan(now);
    expect(t.actBy).not.toBeNull();
    expect(t.actBy! >= today).toBe(true);
    expect(t.reasons[0]).toMatch(/^health forecast to reach red in about \d+ days, leaving 14 days of lead time$/);
  });

  it("is today for a red account, and the renewal minus the lead time when that comes first", async () => {
    const red = await (await call("GET", "/v1/accounts/TJ-RED/trajectory", { key: admin })).json<TrajectoryBody>();
    expect(red.actBy).toBe(today);
    expect(red.reasons[0]).toMatch(/^already red/);
    const renewal = await (await call("GET", "/v1/accounts/TJ-RENEWAL/trajectory", { key: admin })).json<TrajectoryBody>();
    expect(renewal.actBy).toBe(addDays(today, 16));
    expect(renewal.reasons[0]).toBe(`renewal on ${addDays(today, 30)} leaves 14 days of lead time`);
  });

  it("is 404 for an unknown account and 401 without a key", async () => {
    const res = await call("GET", "/v1/accounts/TJ-NOPE/trajectory", { key: admin });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).errors![0].field).toBe("id");
    expect((await call("GET", "/v1/accounts/TJ-RED/trajectory")).status).toBe(401);
  });
});

describe("rescoring", () => {
  it("stores health, the 90-day forecast, trend and actBy, extends the history, and tells webhooks when an account turns declining", { timeout: 40_000 }, async () => {
    const before = await (await call("GET", "/v1/accounts/TJ-FALLING", { key: admin })).json<ResponseBody<"/v1/accounts/{id}", "get">>();
    const now = before.score!.health;
    await setHistory("TJ-FALLING", [now + 24, now + 18, now + 12, now + 6]);
    await env.DB.prepare("UPDATE accounts SET trend = 'stable' WHERE id = 'TJ-FALLING'").run();
    const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
    expect((await waitForRun(admin, started.runId, 30_000)).status).toBe("completed");

    const score = await env.DB.prepare("SELECT health, health_90, health_90_low, health_90_high, trend, act_by FROM scores WHERE run_id = ?1 AND account_id = 'TJ-FALLING'")
      .bind(started.runId)
      .first<{ health: number; health_90: number; health_90_low: number; health_90_high: number; trend: string; act_by: string }>();
    expect(score!.health).toBe(now);
    expect(score!.trend).toBe("declining");
    expect(score!.health_90_low).toBeLessThanOrEqual(score!.health_90);
    expect(score!.health_90_high).toBeLessThan(now);
    const account = await env.DB.prepare("SELECT health, trend, act_by, health_history FROM accounts WHERE id = 'TJ-FALLING'").first<{ health: number; trend: string; act_by: string; health_history: string }>();
    expect(account).toMatchObject({ health: now, trend: "declining", act_by: score!.act_by });
    expect((JSON.parse(account!.health_history) as { date: string; health: number }[]).at(-1)).toEqual({ date: today, health: now });

    const events = await env.DB.prepare("SELECT account_id, payload FROM events WHERE run_id = ?1 AND type = 'account.trend_changed'").bind(started.runId).all<{ account_id: string; payload: string }>();
    expect(events.results.map((e) => e.account_id)).toEqual(["TJ-FALLING"]);
    const payload = JSON.parse(events.results[0].payload) as { previousTrend: string; trend: string; actBy: string; reasons: string[] };
    expect(payload).toMatchObject({ previousTrend: "stable", trend: "declining", actBy: score!.act_by });
  });

  it("keeps the last rescoring's trend and actBy on the account when the API scores it again", async () => {
    const before = await env.DB.prepare("SELECT trend, act_by FROM accounts WHERE id = 'TJ-FALLING'").first<{ trend: string; act_by: string }>();
    expect(before!.trend).toBe("declining");
    expect((await call("POST", "/v1/score", { key: admin, body: { accountId: "TJ-FALLING" } })).status).toBe(200);
    expect(await env.DB.prepare("SELECT trend, act_by FROM accounts WHERE id = 'TJ-FALLING'").first()).toEqual(before);
  });

  it("feeds the worklist's trend filter and actBy sort", async () => {
    const declining = await (await call("GET", "/v1/accounts?trend=declining", { key: admin })).json<Worklist>();
    expect(declining.accounts.map((a) => a.id)).toContain("TJ-FALLING");
    expect(declining.accounts.every((a) => a.score?.trend === "declining")).toBe(true);
    const byDate = await (await call("GET", "/v1/accounts?sort=actBy&limit=500", { key: admin })).json<Worklist>();
    const dates = byDate.accounts.map((a) => a.score?.actBy ?? "9999-12-31");
    expect(dates).toEqual([...dates].sort());
    expect(byDate.accounts[0].score?.actBy).toBe(today);
    const bad = await call("GET", "/v1/accounts?trend=sideways", { key: admin });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors![0].field).toBe("query.trend");
  });
});

describe("a history loaded at once (the SaaS demo)", () => {
  it("is rebuilt from stored scores: the latest score of each week, oldest first, at most 26 weeks", async () => {
    const { rebuildHealthHistoryStatement } = await import("../../../shared/db/scores");
    await env.DB.prepare("INSERT INTO accounts (id, features) VALUES ('TJ-LOADED', '{}')").run();
    const rows = Array.from({ length: 30 * 7 }, (_, i) => addDays(today, -(30 * 7 - 1 - i))).filter((_, i) => i % 3 === 0);
    await env.DB.batch(
      rows.map((date, i) =>
        env.DB.prepare("INSERT INTO scores (account_id, model_version, churn_probability, risk_tier, drivers, imputed, source, scored_at, health) VALUES ('TJ-LOADED', 'v', 0.5, 'yellow', '[]', '[]', 'demo-history', ?1, ?2)").bind(`${date}T12:00:00.000Z`, i % 100),
      ),
    );
    await env.DB.batch([rebuildHealthHistoryStatement(env.DB)]);
    const history = JSON.parse((await env.DB.prepare("SELECT health_history FROM accounts WHERE id = 'TJ-LOADED'").first<{ health_history: string }>())!.health_history) as { date: string; health: number }[];
    expect(history.length).toBe(26);
    expect(history.at(-1)).toEqual({ date: rows.at(-1), health: (rows.length - 1) % 100 });
    expect(history.map((p) => p.date)).toEqual([...history.map((p) => p.date)].sort());
    for (let i = 1; i < history.length; i++) expect(addDays(history[i - 1].date, 3) <= history[i].date).toBe(true);
  });
});
