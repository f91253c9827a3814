/**
 * The weekly insights digest inside workerd with real local D1 and Queues: accounts scored by real
 * rescoring runs, moved between tiers by changing their signals and rescoring; the previous week's
 * digest, then this week's built by the weekly cron through the runtime's own controller as on next
 * Monday. Every figure is checked against independent SQL over the runs' scores (not the events the
 * digest reads), the 15-per-owner cap, the comparison with the previous digest, idempotency, and the
 * `insights.weekly` webhook reaching a Standard Webhooks receiver and a Slack endpoint (receivers
 * stubbed at `fetch`, as in test/workers/webhooks/; delivered by the real local queue).
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CreatedWebhook, RescoreStarted } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { topRiskDriver } from "../../../shared/model/scorer";
import worker from "../../../workers/index";
import { runWeeklyInsights } from "../../../workers/insights/digest";
import type { AdoptionSection, Digest, ExpansionReady, ImpactSection, ModelHealth, RedDrivers, TierMoves } from "../../../workers/insights/schemas";
import { isoWeekOf, mondayOf } from "../../../workers/insights/weeks";
import { call, createKey, loyalCustomer, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";
import { receiver, type Received } from "../webhooks/webhook-helpers";

// Telco signals checked against the fixture model: loyal is green; risky is red with tenure its top
// risk-raising driver; `pricey` is red with MonthlyCharges on top; `blue` is green and expansion-ready;
// `watch` is yellow.
const loyal = loyalCustomer;
const risky = riskyCustomer;
const pricey = { ...riskyCustomer, tenure: 8, MonthlyCharges: 105, TotalCharges: 800, SeniorCitizen: 1 };
const blue = { ...loyalCustomer, OnlineSecurity: "No", TechSupport: "No" };
const watch = { ...riskyCustomer, Contract: "One year" };

interface Seed {
  id: string;
  owner: string;
  arr: number;
  run1: Record<string, unknown>;
  run2: Record<string, unknown>;
  run3?: Record<string, unknown>;
}
const seeds: Seed[] = [
  // ann: 20 accounts turn red, more than the 15 listed per owner.
  ...Array.from({ length: 20 }, (_, i): Seed => ({ id: `ANN-${String(i).padStart(2, "0")}`, owner: "ann@cs.example", arr: 10_000 + 1000 * i, run1: loyal, run2: risky })),
  // bob: 4 red accounts recover and turn expansion-ready.
  ...Array.from({ length: 4 }, (_, i): Seed => ({ id: `BOB-${i}`, owner: "bob@cs.example", arr: 50_000 + 5000 * i, run1: risky, run2: blue })),
  // cat: 3 loyal accounts that never move.
  ...Array.from({ length: 3 }, (_, i): Seed => ({ id: `CAT-${i}`, owner: "cat@cs.example", arr: 20_000 + i, run1: loyal, run2: loyal })),
  // dan: one account goes to yellow and comes back; one stays red all week, priced out.
  { id: "DAN-0", owner: "dan@cs.example", arr: 33_000, run1: loyal, run2: watch, run3: loyal },
  { id: "DAN-1", owner: "dan@cs.example", arr: 80_000, run1: pricey, run2: pricey },
];
const owners = ["ann@cs.example", "bob@cs.example", "cat@cs.example", "dan@cs.example"];

const today = new Date().toISOString().slice(0, 10);
const monday = mondayOf(today);
const week = isoWeekOf(today);
const lastWeek = isoWeekOf(addDays(monday, -1));
const nextMonday = new Date(`${addDays(monday, 7)}T01:00:00.000Z`);

let admin: string;
let reader: string;
const runs: string[] = [];
let previous: Digest;
let digest: Digest;
let modelVersion: string;
let seen: Received[];
let standard: CreatedWebhook;
let slack: CreatedWebhook;
/** The red accounts' top drivers as the previous digest saw them, computed here. */
let redBefore: Map<string | null, number>;

async function upsert(run: "run1" | "run2" | "run3") {
  const accounts = seeds.map((s) => ({ id: s.id, name: `${s.id} Ltd`, owner: s.owner, arr: s.arr, features: s[run] ?? s.run2 }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);
}

async function rescore(): Promise<void> {
  const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
  expect((await waitForRun(admin, started.runId, 60_000)).status).toBe("completed");
  runs.push(started.runId);
}

async function getDigest(query = ""): Promise<Digest> {
  const res = await call("GET", `/v1/insights${query}`, { key: reader });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Digest>();
}

const section = <S>(d: Digest, id: string) => d.sections.find((s) => s.id === id) as S;

/** Each red account's top risk-raising driver and ARR, from its current score, computed without the digest's SQL. */
async function redArrByDriver(): Promise<Map<string | null, number>> {
  const rows = (await env.DB.prepare("SELECT a.arr, s.drivers FROM accounts a JOIN scores s ON s.id = a.score_id WHERE a.risk_tier = 'red'").all<{ arr: number; drivers: string }>()).results;
  const out = new Map<string | null, number>();
  for (const r of rows) {
    const top = topRiskDriver(JSON.parse(r.drivers) as { feature: string; contribution: number }[]);
    out.set(top?.feature ?? null, (out.get(top?.feature ?? null) ?? 0) + r.arr);
  }
  return out;
}

/** Each account's risk tier and portfolio tier in every run, from `scores`. */
async function tiersByRun(): Promise<Map<string, { risk: string[]; tier: string[] }>> {
  const rows = (await env.DB.prepare("SELECT account_id, run_id, risk_tier, tier FROM scores WHERE run_id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(runs)).all<{ account_id: string; run_id: string; risk_tier: string; tier: string }>()).results;
  const out = new Map<string, { risk: string[]; tier: string[] }>();
  for (const r of rows) {
    const t = out.get(r.account_id) ?? { risk: [], tier: [] };
    const i = runs.indexOf(r.run_id);
    t.risk[i] = r.risk_tier;
    t.tier[i] = r.tier;
    out.set(r.account_id, t);
  }
  return out;
}

beforeAll(async () => {
  await publishTelcoModel();
  modelVersion = (await env.DB.prepare("SELECT version FROM models WHERE status = 'active' AND target = 'churn'").first<{ version: string }>())!.version;
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  await upsert("run1");
  await rescore();

  // Last week's digest, as the cron built it this Monday: nothing moved then, but red accounts have drivers.
  await runWeeklyInsights(env, new Date(`${monday}T01:00:00.000Z`));
  previous = await getDigest(`?week=${lastWeek}`);
  redBefore = await redArrByDriver();

  await upsert("run2");
  await rescore();
  await upsert("run3");
  await rescore();
  expect((await call("POST", `/v1/models/${modelVersion}/performance/compute`, { key: admin })).status).toBe(201);
  // ann used insights on 4 workdays this week, bob on 2; cat and dan never.
  const use = (owner: string, day: number) => env.DB.prepare("INSERT INTO owner_usage (owner, day, action, count) VALUES (?1, ?2, 'worklist', 1)").bind(owner, addDays(monday, day));
  await env.DB.batch([0, 1, 2, 4].map((d) => use("ann@cs.example", d)).concat([1, 3].map((d) => use("bob@cs.example", d))));

  standard = await (await call("POST", "/v1/webhooks", { key: admin, body: { url: "https://hooks.example.com/insights", events: ["insights.weekly"] } })).json<CreatedWebhook>();
  slack = await (await call("POST", "/v1/webhooks", { key: admin, body: { url: "https://hooks.slack.com/services/T0/B0/insights", events: ["insights.weekly"], kind: "slack" } })).json<CreatedWebhook>();
  seen = receiver("https://hooks.", () => new Response("ok"));

  // This week's digest, by the weekly cron as on next Monday 01:00 UTC.
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: nextMonday.getTime(), cron: "0 1 * * 1" }), env, ctx);
  await waitOnExecutionContext(ctx);
  digest = await getDigest();
}, 180_000);

afterAll(() => vi.restoreAllMocks());

describe("the weekly cron's digest", () => {
  it("is this week's, final, sent as one insights.weekly event, and served as the latest", async () => {
    expect(digest).toMatchObject({ week, complete: true, generatedAt: nextMonday.toISOString() });
    expect(digest.sections.map((s) => s.id)).toEqual(["tier-moves", "red-drivers", "expansion-ready", "impact", "adoption", "model-health"]);
    const events = (await env.DB.prepare("SELECT id, payload FROM events WHERE type = 'insights.weekly' AND json_extract(payload, '$.week') = ?1").bind(week).all<{ id: string; payload: string }>()).results;
    expect(events.map((e) => e.id)).toEqual([digest.eventId]);
    expect(JSON.parse(events[0].payload)).toEqual(digest);
    for (const s of digest.sections) expect(s.query).toMatch(/^(insights-[a-z-]+|impact)$/);
  });

  it("counts the accounts that moved tiers, per from → to with ARR, as the runs' scores show", async () => {
    const moves = section<TierMoves>(digest, "tier-moves");
    const expected = (
      await env.DB.prepare(
        `SELECT s1.risk_tier AS "from", s3.risk_tier AS "to", count(*) AS accounts, total(a.arr) AS arr
         FROM scores s1 JOIN scores s3 ON s3.account_id = s1.account_id AND s3.run_id = ?2 JOIN accounts a ON a.id = s1.account_id
         WHERE s1.run_id = ?1 AND s1.risk_tier <> s3.risk_tier GROUP BY 1, 2 ORDER BY arr DESC`,
      )
        .bind(runs[0], runs[2])
        .all<{ from: string; to: string; accounts: number; arr: number }>()
    ).results;
    expect(expected.map((e) => `${e.from}>${e.to}`)).toEqual(["green>red", "red>green"]);
    expect(moves.moves).toEqual(expected);
    expect(moves.accounts).toBe(24);
    expect(moves.arr).toBe(expected.reduce((n, e) => n + e.arr, 0));
    // DAN-0 went to yellow and came back: counted, not listed.
    const tiers = await tiersByRun();
    const returned = [...tiers.values()].filter((t) => t.risk[0] === t.risk[2] && t.risk[1] !== t.risk[0]).length;
    expect(returned).toBe(1);
    expect(moves.returned).toBe(returned);
    expect(moves.text).toMatch(new RegExp(`^24 accounts \\(\\$\\d+K ARR\\) ended ${week} in another risk tier: 20 green → red \\(\\$390K\\), 4 red → green \\(\\$230K\\)\\. 1 more account moved and ended the week where it started\\.$`));
  });

  it("lists at most 15 accounts per owner, most ARR first, and says how many more", () => {
    const moves = section<TierMoves>(digest, "tier-moves");
    expect(moves.owners.map((o) => o.owner)).toEqual(["ann@cs.example", "bob@cs.example"]);
    const [ann, bob] = moves.owners;
    expect(ann.accounts.map((a) => a.id)).toEqual(Array.from({ length: 15 }, (_, i) => `ANN-${String(19 - i).padStart(2, "0")}`));
    expect(ann.more).toBe(5);
    expect(ann.accounts[0]).toMatchObject({ name: "ANN-19 Ltd", arr: 29_000, from: "green", to: "red" });
    expect(ann.accounts[0].churnProbability).toBeGreaterThan(0.7);
    expect(bob.accounts.map((a) => [a.id, a.from, a.to])).toEqual([3, 2, 1, 0].map((i) => [`BOB-${i}`, "red", "green"]));
    expect(bob.more).toBe(0);
  });

  it("gives the share of red ARR per top risk-raising driver, against last week's digest", async () => {
    const now = await redArrByDriver();
    const red = section<RedDrivers>(digest, "red-drivers");
    const redArr = [...now.values()].reduce((a, b) => a + b, 0);
    expect(red.redArr).toBe(redArr);
    expect(red.redAccounts).toBe(21);
    expect(red.comparedWith).toBe(lastWeek);
    const before = section<RedDrivers>(previous, "red-drivers");
    const beforeArr = [...redBefore.values()].reduce((a, b) => a + b, 0);
    expect(before.redArr).toBe(beforeArr);
    for (const [feature, arr] of redBefore) expect(before.drivers.find((d) => d.feature === feature)?.share).toBeCloseTo(arr / beforeArr, 4);
    for (const [feature, arr] of now) {
      const d = red.drivers.find((x) => x.feature === feature)!;
      expect(d.share).toBeCloseTo(arr / redArr, 4);
      expect(d.previousShare).toBeCloseTo((redBefore.get(feature) ?? 0) / beforeArr, 4);
    }
    // tenure drove bob's red accounts last week and ann's this week; MonthlyCharges is DAN-1's.
    expect(red.drivers.map((d) => d.feature)).toEqual(["tenure", "MonthlyCharges"]);
    const [tenure, charges] = red.drivers;
    expect(tenure.change).toBeCloseTo(tenure.share! - tenure.previousShare!, 4);
    expect(red.text).toContain(`tenure drives ${Math.round(tenure.share! * 100)}% of red ARR, up from ${Math.round(tenure.previousShare! * 100)}%`);
    expect(red.text).toContain(`monthly charges ${Math.round(charges.share! * 100)}%, down from ${Math.round(charges.previousShare! * 100)}%`);
    expect(red.text).toContain(`(against ${lastWeek})`);
    // The first digest had nothing to compare with.
    expect(before.comparedWith).toBeNull();
    expect(before.drivers.every((d) => d.previousShare === null && d.change === null)).toBe(true);
    expect(before.text).toContain("the first digest: nothing to compare with yet");
  });

  it("lists the accounts that turned expansion-ready in the week", async () => {
    const tiers = await tiersByRun();
    const turned = [...tiers.entries()].filter(([, t]) => [1, 2].some((i) => t.tier[i] === "blue" && t.tier[i - 1] !== "blue")).map(([id]) => id);
    expect(turned.sort()).toEqual(["BOB-0", "BOB-1", "BOB-2", "BOB-3"]);
    const ready = section<ExpansionReady>(digest, "expansion-ready");
    const arr = (await env.DB.prepare("SELECT total(arr) AS arr FROM accounts WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(turned)).first<{ arr: number }>())!.arr;
    expect(ready).toMatchObject({ accounts: turned.length, arr, text: `4 accounts ($230K ARR) turned expansion-ready in ${week}.` });
    expect(ready.owners).toHaveLength(1);
    expect(ready.owners[0].owner).toBe("bob@cs.example");
    expect(ready.owners[0].accounts.map((a) => a.id)).toEqual(["BOB-3", "BOB-2", "BOB-1", "BOB-0"]);
    expect(ready.owners[0].accounts[0].reason).toMatch(/^Expansion-ready/);
    expect(section<ExpansionReady>(previous, "expansion-ready").accounts).toBe(0);
  });

  it("reports impact so far over the 365 days to the week's end", async () => {
    const impact = section<ImpactSection>(digest, "impact");
    const sunday = addDays(monday, 6);
    expect(impact).toMatchObject({ from: addDays(sunday, -365), to: sunday, asOf: sunday });
    // Every assignment is this week's, so every outcome window is still open.
    const pending = (await env.DB.prepare("SELECT count(*) AS n FROM holdout_assignments WHERE assigned_at >= ?1 AND assigned_at < ?2").bind(impact.from, addDays(sunday, 1)).first<{ n: number }>())!.n;
    expect(pending).toBeGreaterThanOrEqual(20);
    expect(impact.pendingAccounts).toBe(pending);
    expect(impact.treated.accounts + impact.control.accounts).toBe(0);
    expect(impact.uplift.estimate).toBeNull();
    expect(impact.text).toBe(`Assignments from ${impact.from} to ${sunday}: ${impact.summary} ${pending} assignments are still inside their outcome window.`);
  });

  it("reports adoption as of the week's Sunday, naming the owners below 4 of 5 days", async () => {
    const adoption = section<AdoptionSection>(digest, "adoption");
    const workdays = [0, 1, 2, 3, 4].map((d) => addDays(monday, d));
    const days = new Map(
      (await env.DB.prepare("SELECT owner, count(DISTINCT day) AS days FROM owner_usage WHERE day IN (SELECT value FROM json_each(?1)) AND count > 0 GROUP BY owner").bind(JSON.stringify(workdays)).all<{ owner: string; days: number }>()).results.map((r) => [r.owner, r.days]),
    );
    expect(adoption).toMatchObject({ asOf: addDays(monday, 6), workdays, ownerCount: owners.length, activeOwners: 1, share: 0.25 });
    expect(adoption.below).toEqual([
      { owner: "cat@cs.example", activeDays: 0, accounts: 3 },
      { owner: "dan@cs.example", activeDays: 0, accounts: 2 },
      { owner: "bob@cs.example", activeDays: days.get("bob@cs.example"), accounts: 4 },
    ]);
    expect(adoption.text).toMatch(/^1 of 4 owners \(25%\) used predictive insights .* Below 4 of 5 days: cat@cs\.example \(0\), dan@cs\.example \(0\), bob@cs\.example \(2\)\.$/);
  });

  it("reports the active model's latest monitoring, or says it has not run", async () => {
    const row = (await env.DB.prepare("SELECT computed_at, auc, brier, scores_evaluated, alerts FROM model_performance WHERE model_version = ?1 ORDER BY computed_at DESC LIMIT 1").bind(modelVersion).first<{ computed_at: string; auc: number | null; brier: number | null; scores_evaluated: number; alerts: string }>())!;
    const health = section<ModelHealth>(digest, "model-health");
    expect(health).toMatchObject({ modelVersion, monitored: true, computedAt: row.computed_at, auc: row.auc, brier: row.brier, scoresEvaluated: row.scores_evaluated, alerts: JSON.parse(row.alerts) });
    expect(health.text).toMatch(new RegExp(`^${modelVersion}, as monitored at ${row.computed_at}: No accuracy figures yet`));
    expect(section<ModelHealth>(previous, "model-health")).toMatchObject({ modelVersion, monitored: false, computedAt: null, auc: null });
    expect(section<ModelHealth>(previous, "model-health").text).toBe(`Monitoring has not run yet for ${modelVersion}: it runs daily at 03:17 UTC, or now with POST /v1/models/${modelVersion}/performance/compute.`);
  });

  it("is built once: running the job again, or POST generate, changes nothing and sends nothing", async () => {
    await runWeeklyInsights(env, nextMonday);
    await runWeeklyInsights(env, new Date(nextMonday.getTime() + 3_600_000));
    const res = await call("POST", "/v1/insights/generate", { key: admin, body: { week } });
    expect(res.status).toBe(200);
    expect(await res.json<Digest>()).toEqual(digest);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM insights WHERE week = ?1").bind(week).first<{ n: number }>())!.n).toBe(1);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM events WHERE type = 'insights.weekly'").first<{ n: number }>())!.n).toBe(2);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?1").bind(digest.eventId).first<{ n: number }>())!.n).toBe(2);
    expect(await getDigest(`?week=${week}`)).toEqual(digest);
    expect(await getDigest(`?week=${lastWeek}`)).toEqual(previous);
  });
});

describe("the insights.weekly webhook", () => {
  async function delivered(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?1 AND status = 'succeeded'").bind(digest.eventId).first<{ n: number }>();
      if (r!.n === 2) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("the insights.weekly deliveries did not succeed");
  }

  it("reaches a Standard Webhooks receiver with the digest, signed", async () => {
    await delivered();
    const got = seen.filter((s) => s.url === "https://hooks.example.com/insights");
    expect(got).toHaveLength(1);
    expect(got[0].headers["webhook-id"]).toBe(digest.eventId);
    const body = new Webhook(standard.secret).verify(got[0].body, got[0].headers) as { type: string; data: Digest };
    expect(body.type).toBe("insights.weekly");
    expect(body.data).toEqual(digest);
  });

  it("reaches a Slack endpoint as readable blocks, not a JSON dump", async () => {
    await delivered();
    const got = seen.filter((s) => s.url.startsWith("https://hooks.slack.com/"));
    expect(got).toHaveLength(1);
    expect(() => new Webhook(slack.secret).verify(got[0].body, got[0].headers)).not.toThrow();
    const msg = JSON.parse(got[0].body) as { text: string; blocks: { type: string; text?: { text: string } }[] };
    const moves = section<TierMoves>(digest, "tier-moves");
    expect(msg.text).toBe(`Weekly insights ${week}: ${moves.text}`);
    expect(msg.blocks[0]).toEqual({ type: "header", text: { type: "plain_text", text: `Weekly insights, ${week}` } });
    const texts = msg.blocks.filter((b) => b.type === "section").map((b) => b.text!.text);
    expect(texts).toHaveLength(6);
    expect(texts[0]).toMatch(/^\*Accounts that moved tiers\*\n24 accounts/);
    expect(texts[0]).toContain("• BOB-3 Ltd (bob@cs.example): red → green, $65,000");
    expect(texts[0]).toContain("…and 19 more in the digest");
    expect(texts[1]).toMatch(/• tenure: \d+% of red ARR \(was \d+%\)/);
    expect(texts[2]).toContain("• BOB-3 Ltd (bob@cs.example): readiness");
    expect(texts[5]).toContain(`*Model health*\n${modelVersion}`);
    expect(got[0].body).not.toContain('"sections"');
  });
});
