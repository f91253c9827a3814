/**
 * Accuracy and drift monitoring with real D1 and R2: synthetic scores from 120 days ago and the
 * outcomes that followed them, for the published SaaS fixture model; the stored figures are
 * checked against values computed here by hand (AUC by pair counting, PSI from the artifact's
 * bins). The tests in this file share its accounts and run in order.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { publishArtifact } from "../../../shared/db/registry";
import worker from "../../../workers/index";
import { eventId } from "../../../workers/webhooks/outbox";
import type { ModelPerformance, PerformanceComputed } from "../../../client/index";
import { call, createKey, problemOf } from "../helpers";
import { daysAgo, pairCountAuc, plusDays, saasArtifact, saasSignals } from "../saas";

const N = 600;
const id = (i: number) => `MON-${String(i).padStart(3, "0")}`;
const today = () => new Date().toISOString().slice(0, 10);

let version: string;
let admin: string;
let reader: string;
/** The evaluable scores as constructed: earliest score's probability and its label. */
const expected = { p: [] as number[], y: [] as number[] };
/** Accounts with a churned outcome on or before today: not live, so left out of drift. */
const churnedIds = new Set<string>();
let signals: Record<string, string | number | null>[];

async function compute(v = version): Promise<PerformanceComputed> {
  const res = await call("POST", `/v1/models/${v}/performance/compute`, { key: admin });
  expect(res.status).toBe(201);
  return res.json<PerformanceComputed>();
}

async function eventsOf(type: string): Promise<{ id: string; payload: string }[]> {
  return (await env.DB.prepare("SELECT id, payload FROM events WHERE model_version = ?1 AND type = ?2").bind(version, type).all<{ id: string; payload: string }>()).results;
}

/** PSI of `seats` computed here from the artifact's reference bins and the accounts' current values. */
function seatsPsiByHand(values: (number | null)[]): number {
  const ref = saasArtifact().reference!.features.seats;
  if (ref.kind !== "numeric") throw new Error("seats should be numeric");
  const counts = new Array<number>(ref.shares.length + 1).fill(0);
  for (const v of values) {
    if (v === null) counts[ref.shares.length]++;
    else counts[ref.edges.filter((e) => e <= v).length]++;
  }
  const expectedShares = [...ref.shares, ref.missing];
  return counts.reduce((sum, c, k) => {
    const a = Math.max(1e-4, c / values.length);
    const e = Math.max(1e-4, expectedShares[k]);
    return sum + (a - e) * Math.log(a / e);
  }, 0);
}

beforeAll(async () => {
  const published = await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_MODEL), { activate: true });
  version = published.version;
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  const red = saasArtifact().tiers.red;
  signals = saasSignals(0, N);
  const accounts = signals.map((features, i) => ({ id: id(i), arr: 1000 + i, features }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);

  const first = daysAgo(120);
  const later = daysAgo(100);
  const recent = daysAgo(30);
  const scores: { a: string; p: number; t: string; s: string }[] = [];
  const outcomes: { accountId: string; type: string; date: string }[] = [];
  const tier = (p: number) => (p >= red ? "red" : p >= 0.4 ? "yellow" : "green");
  // 0-299: evaluable. Half the red scores churned (precision near 0.5, under the 0.70 alert line).
  for (let i = 0; i < 300; i++) {
    const p = 0.005 + ((i * 37) % 100) / 100;
    const y = p >= red ? (i % 2 === 0 ? 1 : 0) : i % 5 === 0 ? 1 : 0;
    expected.p.push(p);
    expected.y.push(y);
    scores.push({ a: id(i), p, t: tier(p), s: first.at });
    // A later score by the same model: only each account's earliest is evaluated.
    scores.push({ a: id(i), p: 1 - p, t: tier(1 - p), s: later.at });
    if (y === 1) outcomes.push({ accountId: id(i), type: "churned", date: plusDays(first.day, i % 4 === 0 ? 90 : 30) });
    else if (i % 7 === 1) outcomes.push({ accountId: id(i), type: "churned", date: plusDays(first.day, 91) }); // one day too late: still 0
    else if (i % 7 === 2) outcomes.push({ accountId: id(i), type: "renewed", date: plusDays(first.day, 40) });
  }
  // 300-349: scored 30 days ago; the horizon has not passed, even though some churned since.
  for (let i = 300; i < 350; i++) {
    scores.push({ a: id(i), p: 0.95, t: "red", s: recent.at });
    if (i % 2) outcomes.push({ accountId: id(i), type: "churned", date: daysAgo(10).day });
  }
  // 350-369: had already churned before their first score: nothing left to predict.
  for (let i = 350; i < 370; i++) {
    scores.push({ a: id(i), p: 0.99, t: "red", s: first.at });
    outcomes.push({ accountId: id(i), type: "churned", date: plusDays(first.day, -5) });
  }
  for (const o of outcomes) if (o.type === "churned") churnedIds.add(o.accountId);
  await env.DB.prepare(
    `INSERT INTO scores (account_id, model_version, churn_probability, risk_tier, drivers, imputed, source, scored_at)
     SELECT json_extract(value, '$.a'), ?1, json_extract(value, '$.p'), json_extract(value, '$.t'), '[]', '[]', 'test', json_extract(value, '$.s') FROM json_each(?2)`,
  )
    .bind(version, JSON.stringify(scores))
    .run();
  expect((await call("POST", "/v1/outcomes", { key: admin, body: { outcomes } })).status).toBe(200);
  // A webhook endpoint subscribed to the model events, so alerts become deliveries.
  await env.DB.prepare("INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES ('ep_monitor', 'https://hooks.example.com/foresight', ?1, 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0')")
    .bind(JSON.stringify(["model.performance_degraded", "model.drift_detected"]))
    .run();
});

describe("accuracy against outcomes", () => {
  it("evaluates each account's earliest score once its horizon has passed, and matches figures computed by hand", async () => {
    const { performance: perf } = await compute();
    const red = saasArtifact().tiers.red;
    const { p, y } = expected;
    const flagged = p.map((v, i) => ({ v, y: y[i] })).filter((r) => r.v >= red);
    const tp = flagged.filter((r) => r.y === 1).length;
    const positives = y.filter((v) => v === 1).length;
    const precision = tp / flagged.length;
    const recall = tp / positives;
    expect(perf).toMatchObject({ modelVersion: version, modelStatus: "active", scoresEvaluated: 300, positives, horizonDays: 90, redThreshold: red });
    expect(perf.auc).toBeCloseTo(pairCountAuc(y, p), 6);
    expect(perf.precisionAtRed).toBeCloseTo(precision, 6);
    expect(perf.recallAtRed).toBeCloseTo(recall, 6);
    expect(perf.f1AtRed).toBeCloseTo((2 * precision * recall) / (precision + recall), 6);
    expect(perf.brier).toBeCloseTo(p.reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / p.length, 6);
    // The reliability table: equal-width tenths, each bin's observed churn rate.
    const bins = new Map<number, { n: number; churned: number }>();
    p.forEach((v, i) => {
      const k = Math.min(9, Math.floor(v * 10));
      const b = bins.get(k) ?? { n: 0, churned: 0 };
      b.n++;
      b.churned += y[i];
      bins.set(k, b);
    });
    expect(perf.calibration!.map((b) => [b.from, b.n, b.observed])).toEqual(
      [...bins].sort((a, b) => a[0] - b[0]).map(([k, b]) => [k / 10, b.n, expect.closeTo(b.churned / b.n, 6)]),
    );
    expect(perf.notes.join(" ")).toContain("50 scored account(s) are within their 90-day horizon (not yet evaluable); 20 had already churned when first scored");
  });

  it("emits model.performance_degraded with a retraining recommendation, once per day however often it runs", async () => {
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM model_performance WHERE model_version = ?1").bind(version).first<{ n: number }>())!.n;
    const first = await compute();
    const second = await compute();
    const expectedId = await eventId(version, "model.performance_degraded", today());
    expect(first.performance.precisionAtRed!).toBeLessThan(0.7);
    expect(first.performance.alerts).toContain("model.performance_degraded");
    expect(first.events).toContain(expectedId);
    expect(second.events).toContain(expectedId);
    expect(second.performance.id).toBeGreaterThan(first.performance.id);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM model_performance WHERE model_version = ?1").bind(version).first<{ n: number }>())!.n).toBe(before + 2);

    const events = await eventsOf("model.performance_degraded");
    expect(events.map((e) => e.id)).toEqual([expectedId]);
    const payload = JSON.parse(events[0].payload) as { precisionAtRed: number; threshold: number; summary: string; recommendation: { asOf: string; commands: string[]; then: string } };
    expect(payload.threshold).toBe(0.7);
    expect(payload.precisionAtRed).toBeCloseTo(first.performance.precisionAtRed!, 9);
    expect(payload.summary).toMatch(/^Precision at red \(p ≥ 0\.7\) fell to \d+\.\d% on 300 scores older than 90 days/);
    expect(payload.recommendation.asOf).toBe(plusDays(today(), -90));
    expect(payload.recommendation.commands[0]).toBe(`npm run export-training -- --as-of ${plusDays(today(), -90)} --horizon 90 --out churn-${plusDays(today(), -90)}.csv`);
    expect(payload.recommendation.commands[1]).toMatch(/^npm run train -- --data churn-\S+\.csv --label churned --positive yes --id account_id --exclude expanded --horizon 90 --out /);
    expect(payload.recommendation.then).toContain("/shadow");
    const deliveries = await env.DB.prepare("SELECT endpoint_id, status FROM webhook_deliveries WHERE event_id = ?1").bind(expectedId).all();
    expect(deliveries.results.map((d) => d.endpoint_id)).toEqual(["ep_monitor"]);
  });
});

describe("drift against the training reference", () => {
  it("stays under 0.1 for signals drawn like the training data, and crosses 0.2 with model.drift_detected when one shifts", { timeout: 30_000 }, async () => {
    const live = signals.map((s, i) => ({ s, i })).filter(({ i }) => !churnedIds.has(id(i)));
    const steady = (await compute()).performance;
    expect(steady.driftAccounts).toBe(live.length);
    expect(Object.keys(steady.featurePsi!).sort()).toEqual(["is_trial", "logins_30d", "nps", "plan", "region", "seats", "tickets_90d"]);
    for (const [feature, value] of Object.entries(steady.featurePsi!)) expect(value, feature).toBeLessThan(0.1);
    expect(steady.featurePsi!.seats).toBeCloseTo(seatsPsiByHand(live.map(({ s }) => s.seats as number | null)), 3);
    expect(steady.maxFeaturePsi!).toBeLessThan(0.1);
    expect(steady.predictionPsi!).toBeLessThan(0.1);
    expect(steady.alerts).not.toContain("model.drift_detected");
    expect(await eventsOf("model.drift_detected")).toEqual([]);

    // Every account now reports eight times the seats it was trained with.
    const shifted = signals.map((s, i) => ({ id: id(i), features: { ...s, seats: (s.seats as number) * 8 } }));
    expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts: shifted } })).status).toBe(200);
    const drifted = (await compute()).performance;
    expect(drifted.featurePsi!.seats).toBeGreaterThan(0.2);
    expect(drifted.featurePsi!.seats).toBeCloseTo(seatsPsiByHand(live.map(({ s }) => (s.seats as number) * 8)), 3);
    for (const [feature, value] of Object.entries(drifted.featurePsi!)) if (feature !== "seats") expect(value, feature).toBeLessThan(0.1);
    expect(drifted.maxFeaturePsi).toBe(drifted.featurePsi!.seats);
    expect(drifted.alerts).toContain("model.drift_detected");
    await compute(); // the same day again: no second event

    const events = await eventsOf("model.drift_detected");
    expect(events.map((e) => e.id)).toEqual([await eventId(version, "model.drift_detected", today())]);
    const payload = JSON.parse(events[0].payload) as { drifted: { feature: string; psi: number }[]; maxFeaturePsi: number; driftAccounts: number; recommendation: { commands: string[] } };
    expect(payload.drifted[0]).toEqual({ feature: "seats", psi: drifted.featurePsi!.seats });
    expect(payload.driftAccounts).toBe(live.length);
    expect(payload.recommendation.commands[1]).toContain("--exclude expanded");
    const deliveries = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?1").bind(events[0].id).first<{ n: number }>();
    expect(deliveries!.n).toBe(1);
  });
});

describe("GET /v1/models/{version}/performance", () => {
  it("serves the time series newest first with the latest summarised, to score and ingest keys", async () => {
    await compute();
    const stored = (await env.DB.prepare("SELECT id FROM model_performance WHERE model_version = ?1 ORDER BY computed_at DESC, id DESC").bind(version).all<{ id: number }>()).results;
    const res = await call("GET", `/v1/models/${version}/performance`, { key: reader });
    expect(res.status).toBe(200);
    const body = await res.json<ModelPerformance>();
    expect(body).toMatchObject({ version, status: "active", thresholds: { precisionAtRed: 0.7, psi: 0.2, minEvaluableScores: 50, minDriftAccounts: 200 } });
    expect(body.series.map((e) => e.id)).toEqual(stored.map((r) => r.id).slice(0, 30));
    for (let k = 1; k < body.series.length; k++) expect(body.series[k - 1].computedAt >= body.series[k].computedAt).toBe(true);
    const { summary, topDrift, ...latest } = body.latest!;
    expect(latest).toEqual(body.series[0]);
    expect(summary).toMatch(/^On 300 scores older than 90 days \(\d+ churned\): ROC-AUC 0\.\d{3}, precision at red \d+\.\d%/);
    expect(topDrift[0].feature).toBe("seats");
    expect((await (await call("GET", `/v1/models/${version}/performance?limit=2`, { key: reader })).json<ModelPerformance>()).series).toHaveLength(2);

    const ingest = await createKey(["ingest"]);
    expect((await call("GET", `/v1/models/${version}/performance`, { key: ingest })).status).toBe(200);
    expect((await call("GET", `/v1/models/${version}/performance`, { key: await createKey(["banner"]) })).status).toBe(403);
    expect((await call("POST", `/v1/models/${version}/performance/compute`, { key: reader })).status).toBe(403);
    const missing = await call("GET", "/v1/models/no-such-model/performance", { key: reader });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).errors![0].field).toBe("version");
  });
});

describe("versions that cannot be judged or should not alert", () => {
  it("stores nulls with the reason for a version without evaluable scores, and alerts only for the active model", async () => {
    // The Telco model, published but never active: none of its columns exist in these accounts.
    const telco = await publishArtifact(env, new TextEncoder().encode(env.TEST_MODEL));
    const { performance, events } = await compute(telco.version);
    expect(performance).toMatchObject({ modelStatus: "candidate", scoresEvaluated: 0, positives: 0, auc: null, precisionAtRed: null, recallAtRed: null, brier: null, calibration: null });
    expect(performance.notes[0]).toMatch(/^Only 0 evaluable score\(s\)/);
    // Every Telco signal is missing here, which is drift, but a candidate raises no events.
    expect(performance.maxFeaturePsi!).toBeGreaterThan(0.2);
    expect(performance.alerts).toEqual(["model.drift_detected"]);
    expect(events).toEqual([]);
    expect(performance.notes.join(" ")).toContain("events for the active model only");
    expect((await env.DB.prepare("SELECT count(*) AS n FROM events WHERE model_version = ?1").bind(telco.version).first<{ n: number }>())!.n).toBe(0);

    const expansion = await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_EXPANSION_MODEL));
    const res = await call("POST", `/v1/models/${expansion.version}/performance/compute`, { key: admin });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors![0].field).toBe("version");
  });
});

describe("the daily cron", () => {
  it("computes every active, shadow or retired churn model through the runtime's scheduled handler", async () => {
    const count = async () => (await env.DB.prepare("SELECT model_version, count(*) AS n FROM model_performance GROUP BY model_version").all<{ model_version: string; n: number }>()).results;
    const before = new Map((await count()).map((r) => [r.model_version, r.n]));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const after = new Map((await count()).map((r) => [r.model_version, r.n]));
    expect(after.get(version)).toBe((before.get(version) ?? 0) + 1);
    // Candidates are not monitored by the cron.
    for (const [v, n] of after) if (v !== version) expect(n, v).toBe(before.get(v));
    // Alerts already sent today are not sent again.
    const perType = await env.DB.prepare("SELECT type, count(*) AS n FROM events WHERE model_version = ?1 GROUP BY type").bind(version).all<{ type: string; n: number }>();
    for (const r of perType.results) expect(r.n, r.type).toBe(1);
  });
});
