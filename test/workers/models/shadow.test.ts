/**
 * Shadow models end to end with real D1, R2 and Queues: a candidate becomes the shadow, a real
 * rescoring run scores it beside the active model (never tiering with it), the comparison
 * report is checked against figures computed here from the stored scores, and promotion makes
 * it active and retires the old one. The tests in this file share its accounts and run in order.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { publishArtifact } from "../../../shared/db/registry";
import type { Account, ModelComparison, ModelList, RescoreStarted } from "../../../client/index";
import { call, createKey, problemOf, waitForRun } from "../helpers";
import { daysAgo, pairCountAuc, saasArtifact, saasSignals } from "../saas";

const N = 400;
const id = (i: number) => `SHD-${String(i).padStart(3, "0")}`;

let active: string;
let shadow: string;
let admin: string;
let reader: string;
let runId: string;

/** Both models' probabilities for the run, straight from D1, and the active tiers it stored. */
async function pairs(run: string): Promise<{ account: string; a: number; s: number; tier: string }[]> {
  const rows = await env.DB.prepare(
    `SELECT s.account_id AS account, sc.churn_probability AS a, s.churn_probability AS s, sc.risk_tier AS tier
     FROM shadow_scores s JOIN scores sc ON sc.run_id = s.run_id AND sc.account_id = s.account_id WHERE s.run_id = ?1 AND s.model_version = ?2`,
  )
    .bind(run, shadow)
    .all<{ account: string; a: number; s: number; tier: string }>();
  return rows.results;
}

/** Spearman by hand: Pearson correlation of average ranks. */
function spearmanByHand(x: number[], y: number[]): number {
  const rank = (v: number[]) => {
    const sorted = [...v].sort((a, b) => a - b);
    return v.map((value) => {
      const first = sorted.indexOf(value);
      const last = sorted.lastIndexOf(value);
      return (first + last) / 2 + 1;
    });
  };
  const rx = rank(x);
  const ry = rank(y);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

beforeAll(async () => {
  active = (await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_MODEL), { activate: true })).version;
  // A challenger: the same model with a higher intercept, as a retrain on a churnier period might give.
  const challenger = JSON.parse(env.TEST_SAAS_MODEL);
  challenger.version = `${active}-challenger`;
  challenger.model.intercept += 0.8;
  shadow = (await publishArtifact(env, new TextEncoder().encode(JSON.stringify(challenger)))).version;
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  const accounts = saasSignals(600, 600 + N).map((features, i) => ({ id: id(i), name: `Account ${i}`, arr: 5000, features }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);
  expect((await call("POST", "/v1/score/batch", { key: admin, body: { rows: accounts.map((a) => ({ accountId: a.id })) } })).status).toBe(200);
});

describe("POST /v1/models/{version}/shadow", () => {
  it("makes a candidate churn model the shadow, and refuses the active model, other targets and non-admin keys", async () => {
    expect((await call("POST", `/v1/models/${shadow}/shadow`, { key: reader })).status).toBe(403);
    const itself = await call("POST", `/v1/models/${active}/shadow`, { key: admin });
    expect(itself.status).toBe(409);
    expect((await problemOf(itself)).type).toBe("/problems/model-active");
    const expansion = await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_EXPANSION_MODEL));
    expect((await call("POST", `/v1/models/${expansion.version}/shadow`, { key: admin })).status).toBe(422);
    expect((await call("POST", "/v1/models/nope/shadow", { key: admin })).status).toBe(404);
    // Nothing to compare before a run has scored it.
    const early = await call("GET", `/v1/models/${shadow}/comparison`, { key: reader });
    expect(early.status).toBe(409);
    expect((await problemOf(early)).type).toBe("/problems/no-shadow-scores");

    const res = await call("POST", `/v1/models/${shadow}/shadow`, { key: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: shadow, status: "shadow", active, previous: null });
    // Idempotent.
    expect(await (await call("POST", `/v1/models/${shadow}/shadow`, { key: admin })).json()).toEqual({ version: shadow, status: "shadow", active, previous: null });
    const list = await (await call("GET", "/v1/models?status=shadow", { key: reader })).json<ModelList>();
    expect(list.models.map((m) => m.version)).toEqual([shadow]);
  });
});

describe("a rescoring run with a shadow model", () => {
  it("scores every account with both, tiers and notifies with the active one only", { timeout: 60_000 }, async () => {
    const res = await call("POST", "/v1/rescore", { key: admin });
    expect(res.status).toBe(202);
    const started = await res.json<RescoreStarted>();
    expect(started).toMatchObject({ modelVersion: active, shadowVersion: shadow });
    runId = started.runId;
    const run = await waitForRun(admin, runId);
    expect(run).toMatchObject({ status: "completed", scored: N, shadowVersion: shadow });
    const counts = await env.DB.prepare("SELECT (SELECT count(*) FROM shadow_scores WHERE run_id = ?1 AND model_version = ?2) AS shadow, (SELECT count(*) FROM scores WHERE run_id = ?1) AS scores, (SELECT count(*) FROM scores WHERE run_id = ?1 AND model_version = ?2) AS byShadow")
      .bind(runId, shadow)
      .first();
    expect(counts).toEqual({ shadow: N, scores: N, byShadow: 0 });
    const account = await (await call("GET", `/v1/accounts/${id(7)}`, { key: reader })).json<Account>();
    expect(account.score!.modelVersion).toBe(active);
    const shadowEvents = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE model_version = ?1").bind(shadow).first<{ n: number }>();
    expect(shadowEvents!.n).toBe(0);
  });
});

describe("GET /v1/models/{version}/comparison", () => {
  it("compares on the accounts both scored in the latest run, matching figures computed from the stored scores", async () => {
    const res = await call("GET", `/v1/models/${shadow}/comparison?movers=5`, { key: reader });
    expect(res.status).toBe(200);
    const report = await res.json<ModelComparison>();
    const rows = await pairs(runId);
    const shadowTiers = saasArtifact().tiers; // the challenger kept the fixture's thresholds
    const tierOf = (p: number) => (p >= shadowTiers.red ? "red" : p >= shadowTiers.yellow ? "yellow" : "green");
    expect(report).toMatchObject({ shadowVersion: shadow, activeVersion: active, runId, accounts: N });
    expect(report.meanAbsDelta).toBeCloseTo(rows.reduce((s, r) => s + Math.abs(r.s - r.a), 0) / N, 6);
    expect(report.meanDelta).toBeGreaterThan(0); // a higher intercept scores higher
    expect(report.meanDelta).toBeCloseTo(rows.reduce((s, r) => s + (r.s - r.a), 0) / N, 6);
    expect(report.spearman).toBeCloseTo(spearmanByHand(rows.map((r) => r.a), rows.map((r) => r.s)), 6);
    const matrix: Record<string, Record<string, number>> = {};
    for (const t of ["red", "yellow", "green"]) matrix[t] = { red: 0, yellow: 0, green: 0 };
    for (const r of rows) matrix[r.tier][tierOf(r.s)]++;
    expect(report.tierAgreement.matrix).toEqual(matrix);
    expect(report.tierAgreement.share).toBeCloseTo(rows.filter((r) => r.tier === tierOf(r.s)).length / N, 6);
    const byMove = [...rows].sort((x, y) => Math.abs(y.s - y.a) - Math.abs(x.s - x.a));
    expect(report.biggestMovers).toHaveLength(5);
    expect(report.biggestMovers[0].delta).toBeCloseTo(byMove[0].s - byMove[0].a, 6);
    for (let k = 1; k < 5; k++) expect(Math.abs(report.biggestMovers[k - 1].delta)).toBeGreaterThanOrEqual(Math.abs(report.biggestMovers[k].delta));
    // The run is today: no outcome is known yet.
    expect(report.outcomes).toMatchObject({ horizonDays: 90, known: 0, activeAuc: null, shadowAuc: null });
    expect(report.outcomes.note).toMatch(/No compared account's outcome is known/);
    expect(report.summary).toMatch(/^On 400 accounts, the shadow moves churn probability by/);
  });

  it("gives both models' ROC-AUC where outcomes are known", async () => {
    // As if the run had been 120 days ago, with churns recorded in the 90 days after it.
    const then = daysAgo(120);
    await env.DB.prepare("UPDATE shadow_scores SET scored_at = ?2 WHERE run_id = ?1").bind(runId, then.at).run();
    const rows = await pairs(runId);
    const churned = new Set(rows.filter((_, k) => k % 3 === 0 || rows[k].a > 0.6).map((r) => r.account));
    const day = daysAgo(100).day;
    const outcomes = [...churned].map((accountId) => ({ accountId, type: "churned", date: day }));
    expect((await call("POST", "/v1/outcomes", { key: admin, body: { outcomes } })).status).toBe(200);

    const report = await (await call("GET", `/v1/models/${shadow}/comparison`, { key: reader })).json<ModelComparison>();
    const y = rows.map((r) => (churned.has(r.account) ? 1 : 0));
    expect(report.outcomes).toMatchObject({ known: N, positives: churned.size, note: null });
    expect(report.outcomes.activeAuc).toBeCloseTo(pairCountAuc(y, rows.map((r) => r.a)), 6);
    expect(report.outcomes.shadowAuc).toBeCloseTo(pairCountAuc(y, rows.map((r) => r.s)), 6);
  });
});

describe("promoting the shadow model", () => {
  it("activates it, retires the previous active model, and rescoring then runs without a shadow", { timeout: 60_000 }, async () => {
    const res = await call("POST", `/v1/models/${shadow}/activate`, { key: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: shadow, target: "churn", status: "active", previous: active });
    const list = await (await call("GET", "/v1/models?target=churn", { key: reader })).json<ModelList>();
    const status = new Map(list.models.map((m) => [m.version, m.status]));
    expect(status.get(shadow)).toBe("active");
    expect(status.get(active)).toBe("retired");
    expect([...status.values()].filter((s) => s === "active" || s === "shadow")).toEqual(["active"]);

    const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
    expect(started).toMatchObject({ modelVersion: shadow, shadowVersion: null });
    expect(await waitForRun(admin, started.runId)).toMatchObject({ status: "completed", scored: N });
    const account = await (await call("GET", `/v1/accounts/${id(7)}`, { key: reader })).json<Account>();
    expect(account.score!.modelVersion).toBe(shadow);
    // The comparison of the last shadow run stays readable after promotion.
    expect((await call("GET", `/v1/models/${shadow}/comparison`, { key: reader })).status).toBe(200);

    // The retired model can be the shadow in turn (a rollback candidate), and stopped again.
    expect(await (await call("POST", `/v1/models/${active}/shadow`, { key: admin })).json()).toMatchObject({ version: active, status: "shadow", active: shadow });
    const stop = await call("DELETE", `/v1/models/${active}/shadow`, { key: admin });
    expect(await stop.json()).toEqual({ version: active, status: "candidate" });
    expect((await call("DELETE", `/v1/models/${active}/shadow`, { key: admin })).status).toBe(409);
  });
});
