/**
 * `GET /v1/impact` with real D1: accounts, holdout assignments, outcomes and scores written
 * through drizzle (the tables the playbooks write), and the route's counts, rates, transitions
 * and splits checked against figures worked out here by hand. Each scenario uses its own period
 * or playbook, so the tests do not depend on each other's rows.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { accounts, holdoutAssignments, outcomes, playbooks, scores } from "../../../shared/db/schema";
import { chunkForInsert, db } from "../../../shared/db/write";
import { addDays } from "../../../shared/days";
import { mulberry32 } from "../../../training/split";
import { newcombe } from "../../../workers/impact/stats";
import type { ImpactReport } from "../../../workers/impact/report";
import { call, createKey, problemOf } from "../helpers";

type Assignment = typeof holdoutAssignments.$inferInsert;
const today = new Date().toISOString().slice(0, 10);
/** An ISO time `days` days ago, at 09:00 UTC so that day arithmetic is unambiguous. */
const at = (days: number) => `${addDays(today, -days)}T09:00:00.000Z`;
const dayOf = (days: number) => addDays(today, -days);

let reader: string;

async function seed(rows: Assignment[], churns: { accountId: string; date: string }[], tiers: { accountId: string; tier: string; at: string }[] = []) {
  const d = db(env.DB);
  const ids = [...new Set(rows.map((r) => r.accountId))];
  for (const chunk of chunkForInsert(ids, 4)) await d.insert(accounts).values(chunk.map((id) => ({ id, arr: rows.find((r) => r.accountId === id)!.arr, owner: rows.find((r) => r.accountId === id)!.owner, features: {} })));
  for (const chunk of chunkForInsert(rows, 12)) await d.insert(holdoutAssignments).values(chunk);
  for (const chunk of chunkForInsert(churns, 4)) await d.insert(outcomes).values(chunk.map((c) => ({ ...c, type: "churned" as const })));
  for (const chunk of chunkForInsert(tiers, 10))
    await d.insert(scores).values(chunk.map((s) => ({ accountId: s.accountId, modelVersion: "test", churnProbability: s.tier === "red" ? 0.8 : 0.3, riskTier: s.tier, tier: s.tier, drivers: [], imputed: [], source: "test", scoredAt: s.at })));
}

async function impact(query: string): Promise<ImpactReport> {
  const res = await call("GET", `/v1/impact${query}`, { key: reader });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<ImpactReport>();
}

// The hand-checked period: assignments 120 days ago (90-day window) and 45 days ago (30-day window).
const P1 = `?from=${dayOf(130)}&to=${dayOf(40)}`;
const assign = (accountId: string, arm: "treated" | "control", o: Partial<Assignment> = {}): Assignment => ({
  accountId,
  arm,
  tier: "red",
  period: "2026-01",
  playbookId: "imp-ebr",
  playbookVersion: 1,
  owner: "ana",
  arr: 1000,
  churnProbability: 0.5,
  windowDays: 90,
  assignedAt: at(120),
  ...o,
});

beforeAll(async () => {
  reader = await createKey(["score"]);
  await db(env.DB)
    .insert(playbooks)
    .values([
      { id: "imp-ebr", version: 1, name: "Executive business review", tier: "red", leadDays: 7, steps: [{ title: "EBR", dueDays: 5 }], template: { subject: "s", body: "b" } },
      { id: "imp-unused", version: 1, name: "Never assigned", tier: "yellow", leadDays: 7, steps: [{ title: "Call", dueDays: 1 }], template: { subject: "s", body: "b" } },
    ]);
  const rows: Assignment[] = [];
  // Control: 12 red accounts on imp-ebr, C00-C05 ana's, C06-C11 ben's; ARR 2,000 each.
  for (let i = 0; i < 12; i++) rows.push(assign(`IMP-C${String(i).padStart(2, "0")}`, "control", { owner: i < 6 ? "ana" : "ben", arr: 2000 }));
  // Treated: T00-T19 red on imp-ebr, T20-T29 yellow on imp-touch; T00-T14 ana's, T15-T29 ben's; ARR 1,000 + i.
  for (let i = 0; i < 30; i++)
    rows.push(assign(`IMP-T${String(i).padStart(2, "0")}`, "treated", { tier: i < 20 ? "red" : "yellow", playbookId: i < 20 ? "imp-ebr" : "imp-touch", owner: i < 15 ? "ana" : "ben", arr: 1000 + i }));
  // Two red accounts assigned 45 days ago with a 30-day window: closed, but only their 30-day transition window has passed.
  rows.push(assign("IMP-T30", "treated", { owner: "cara", assignedAt: at(45), windowDays: 30, arr: 500 }));
  rows.push(assign("IMP-T31", "treated", { owner: "cara", assignedAt: at(45), windowDays: 30, arr: 500 }));
  // Windows still open: left out, counted as pending.
  rows.push(assign("IMP-T40", "treated", { playbookId: "imp-touch", assignedAt: at(50), windowDays: 90 }));
  rows.push(assign("IMP-C40", "control", { assignedAt: at(41), windowDays: 90 }));
  const churns = [
    // Counted: within [assigned day, assigned day + window].
    ...["IMP-C00", "IMP-C01", "IMP-C02", "IMP-C06", "IMP-T00", "IMP-T20"].map((accountId) => ({ accountId, date: dayOf(90) })),
    { accountId: "IMP-T31", date: dayOf(35) },
    // Not counted: 100 days after the assignment (window 90), and 5 days before it.
    { accountId: "IMP-C03", date: dayOf(20) },
    { accountId: "IMP-C04", date: dayOf(125) },
    // Not counted: its window is still open.
    { accountId: "IMP-C40", date: dayOf(40) },
  ];
  const tiers = [
    { accountId: "IMP-T01", tier: "yellow", at: at(100) }, // +20 days: within 30, 60, 90
    { accountId: "IMP-T02", tier: "green", at: at(75) }, // +45: within 60, 90
    { accountId: "IMP-T03", tier: "red", at: at(110) }, // still red at +10 ...
    { accountId: "IMP-T03", tier: "yellow", at: at(40) }, // ... yellow at +80: within 90
    { accountId: "IMP-T04", tier: "yellow", at: at(20) }, // +100: too late
    { accountId: "IMP-T05", tier: "yellow", at: at(125) }, // before the assignment
    { accountId: "IMP-T20", tier: "green", at: at(110) }, // assigned into yellow: not a red transition
    { accountId: "IMP-C07", tier: "yellow", at: at(70) }, // +50: within 60, 90
    { accountId: "IMP-T30", tier: "yellow", at: at(25) }, // +20: within 30
  ];
  await seed(rows, churns, tiers);
});

describe("GET /v1/impact, counted by hand", () => {
  it("counts each arm's accounts, churns within the window, churn rate and ARR at assignment, leaving open windows out", async () => {
    const r = await impact(P1);
    expect(r.from).toBe(dayOf(130));
    expect(r.to).toBe(dayOf(40));
    expect(r.asOf).toBe(today);
    expect(r.pendingAccounts).toBe(2);
    expect(r.control).toEqual({ accounts: 12, churned: 4, churnRate: 4 / 12, arr: 24_000 });
    // 30 × 1,000 + (0 + … + 29) + 2 × 500
    expect(r.treated).toEqual({ accounts: 32, churned: 2 + 1, churnRate: 3 / 32, arr: 30_000 + 435 + 1000 });
  });

  it("gives the uplift with Newcombe's interval (3 treated churns are too few for the adjusted Wald), ARR protected and the claim rule", async () => {
    const r = await impact(P1);
    expect(r.method).toBe("newcombe");
    expect(r.adjustment).toBeNull();
    const uplift = 4 / 12 - 3 / 32;
    expect(r.uplift.estimate).toBeCloseTo(uplift, 12);
    const [lo, hi] = newcombe(4, 12, 3, 32);
    expect(r.uplift.ci95![0]).toBeCloseTo(lo, 12);
    expect(r.uplift.ci95![1]).toBeCloseTo(hi, 12);
    expect(r.relativeImprovement.estimate).toBeCloseTo(uplift / (4 / 12), 12);
    expect(r.arrProtected.estimate).toBeCloseTo(uplift * 31_435, 6);
    expect(r.arrProtected.ci95![0]).toBeCloseTo(lo * 31_435, 6);
    expect(r.reasons.join(" ")).toMatch(/unadjusted \(newcombe\)/);
    // Newcombe's lower bound here is just below zero: no figure is claimed.
    expect(lo).toBeLessThan(0);
    expect(r.summary).toMatch(/^The effect of playbooks is not yet distinguishable from zero/);
    expect(r.summary).not.toMatch(/ARR protected/);
    expect(r.summary).toContain(`About ${r.power.moreNeeded!.total.toLocaleString("en-US")} more accounts`);
    expect(r.power.basis).toBe("observed");
    expect(r.power.controlShare).toBeCloseTo(12 / 44, 12);
    expect(r.power.neededPerArm!.control + r.power.neededPerArm!.treated).toBeGreaterThan(44);
  });

  it("counts red → yellow/green transitions within 30, 60 and 90 days, each only where its window has passed", async () => {
    const r = await impact(P1);
    expect(r.transitions).toEqual([
      // 20 red treated assigned 120 days ago + T30, T31 (45 days ago); T01 and T30 moved by day 30.
      { days: 30, treated: { accounts: 22, recovered: 2, share: 2 / 22 }, control: { accounts: 12, recovered: 0, share: 0 } },
      // T30, T31's 60- and 90-day windows have not passed.
      { days: 60, treated: { accounts: 20, recovered: 2, share: 2 / 20 }, control: { accounts: 12, recovered: 1, share: 1 / 12 } },
      { days: 90, treated: { accounts: 20, recovered: 3, share: 3 / 20 }, control: { accounts: 12, recovered: 1, share: 1 / 12 } },
    ]);
  });

  it("splits the same figures per playbook and per owner", async () => {
    const r = await impact(P1);
    const byPlaybook: Record<string, ImpactReport["playbooks"][number]> = Object.fromEntries(r.playbooks.map((p) => [p.playbookId, p]));
    expect(r.playbooks.map((p) => p.playbookId)).toEqual(["imp-ebr", "imp-touch"]);
    expect(byPlaybook["imp-ebr"].control).toEqual({ accounts: 12, churned: 4, churnRate: 4 / 12, arr: 24_000 });
    expect(byPlaybook["imp-ebr"].treated).toEqual({ accounts: 22, churned: 2, churnRate: 2 / 22, arr: 20_000 + 190 + 1000 });
    expect(byPlaybook["imp-ebr"].transitions[2].treated).toEqual({ accounts: 20, recovered: 3, share: 0.15 });
    // imp-touch has no control group and yellow assignments only: no estimate, no transitions.
    expect(byPlaybook["imp-touch"].control.accounts).toBe(0);
    expect(byPlaybook["imp-touch"].treated).toEqual({ accounts: 10, churned: 1, churnRate: 0.1, arr: 10_000 + 245 });
    expect(byPlaybook["imp-touch"].uplift).toEqual({ estimate: null, ci95: null });
    expect(byPlaybook["imp-touch"].reasons).toContain("0 control accounts with a closed outcome window (at least 10 are needed)");
    expect(byPlaybook["imp-touch"].transitions.every((t) => t.treated.accounts === 0 && t.treated.share === null)).toBe(true);

    expect(r.owners.map((o) => o.owner)).toEqual(["ana", "ben", "cara"]);
    const [ana, ben, cara] = r.owners;
    expect(ana.control).toEqual({ accounts: 6, churned: 3, churnRate: 0.5, arr: 12_000 });
    expect(ana.treated).toEqual({ accounts: 15, churned: 1, churnRate: 1 / 15, arr: 15_000 + 105 });
    expect(ben.control).toEqual({ accounts: 6, churned: 1, churnRate: 1 / 6, arr: 12_000 });
    expect(ben.treated).toEqual({ accounts: 15, churned: 1, churnRate: 1 / 15, arr: 15_000 + 330 });
    expect(cara.control.accounts).toBe(0);
    expect(cara.treated).toEqual({ accounts: 2, churned: 1, churnRate: 0.5, arr: 1000 });
    expect(ana.transitions[0].treated).toEqual({ accounts: 15, recovered: 1, share: 1 / 15 });
    expect(ben.transitions[1].control).toEqual({ accounts: 6, recovered: 1, share: 1 / 6 });
    for (const o of r.owners) expect(o.uplift.ci95).toBeNull();
  });

  it("filters by playbook, pending accounts included", async () => {
    const r = await impact(`${P1}&playbook=imp-ebr`);
    expect(r.playbook).toBe("imp-ebr");
    expect(r.pendingAccounts).toBe(1);
    expect(r.control.accounts).toBe(12);
    expect(r.treated.accounts).toBe(22);
    expect(r.playbooks.map((p) => p.playbookId)).toEqual(["imp-ebr"]);
    // A playbook that exists but was never assigned is a valid, empty filter.
    const unused = await impact(`${P1}&playbook=imp-unused`);
    expect(unused.treated.accounts + unused.control.accounts).toBe(0);
    expect(unused.summary).toMatch(/^No assignment in this period has a closed outcome window yet/);
  });
});

describe("GET /v1/impact with too little data", () => {
  it("gives nulls instead of intervals, the reasons, and how many more accounts are needed", async () => {
    const rows: Assignment[] = [];
    for (let i = 0; i < 4; i++) rows.push(assign(`IMP-FC${i}`, "control", { playbookId: "imp-few", assignedAt: at(200), churnProbability: 0.4 }));
    for (let i = 0; i < 30; i++) rows.push(assign(`IMP-FT${i}`, "treated", { playbookId: "imp-few", assignedAt: at(200), churnProbability: 0.4 }));
    await seed(rows, [{ accountId: "IMP-FC0", date: dayOf(150) }]);
    const r = await impact(`?from=${dayOf(205)}&to=${dayOf(195)}&playbook=imp-few`);
    expect(r.control).toEqual({ accounts: 4, churned: 1, churnRate: 0.25, arr: 4000 });
    expect(r.treated).toEqual({ accounts: 30, churned: 0, churnRate: 0, arr: 30_000 });
    expect(r.method).toBeNull();
    expect(r.uplift).toEqual({ estimate: null, ci95: null });
    expect(r.relativeImprovement).toEqual({ estimate: null, ci95: null });
    expect(r.arrProtected).toEqual({ estimate: null, ci95: null });
    expect(r.reasons).toEqual([
      "4 control accounts with a closed outcome window (at least 10 are needed)",
      "no churn among the 30 treated accounts yet (at least 1 is needed)",
    ]);
    // Sized for a 25% cut from the 40% the model predicted at assignment (4 control accounts are too few for their rate).
    expect(r.power.basis).toBe("target");
    expect(r.power.baselineChurnRate).toBeCloseTo(0.4, 12);
    expect(r.power.effect).toBeCloseTo(0.1, 12);
    const { control, treated } = r.power.neededPerArm!;
    expect(r.power.moreNeeded).toEqual({ control: control - 4, treated: treated - 30, total: control - 4 + treated - 30 });
    expect(r.summary).toMatch(/^Too little data to measure the effect yet: 4 control accounts/);
    expect(r.summary).toContain(`About ${r.power.moreNeeded!.total.toLocaleString("en-US")} more accounts`);
  });

  it("says so when nothing in the period has a closed window", async () => {
    const r = await impact(`?from=${dayOf(360)}&to=${dayOf(350)}`);
    expect(r.treated.accounts + r.control.accounts).toBe(0);
    expect(r.playbooks).toEqual([]);
    expect(r.owners).toEqual([]);
    expect(r.summary).toMatch(/^No assignment in this period/);
  });
});

describe("GET /v1/impact adjusted by the churn probability at assignment", () => {
  it("uses CUPAC when the arms are large enough, matching a by-hand regression adjustment, over the default 365 days", async () => {
    const random = mulberry32(7);
    const rows: Assignment[] = [];
    const churns: { accountId: string; date: string }[] = [];
    const arms = { control: { x: [] as number[], y: [] as number[] }, treated: { x: [] as number[], y: [] as number[] } };
    for (let i = 0; i < 240; i++) {
      const arm = i % 5 === 0 ? "control" : "treated";
      const x = 0.05 + 0.9 * random();
      const y = random() < (arm === "control" ? x : x * 0.6) ? 1 : 0;
      const id = `IMP-B${String(i).padStart(3, "0")}`;
      rows.push(assign(id, arm, { playbookId: "imp-big", owner: "dan", churnProbability: x, assignedAt: at(150 + (i % 20)), arr: 5000 }));
      if (y) churns.push({ accountId: id, date: dayOf(100) });
      arms[arm].x.push(x);
      arms[arm].y.push(y);
    }
    await seed(rows, churns);
    const r = await impact("?playbook=imp-big");
    expect(r.from).toBe(addDays(today, -365));
    expect(r.to).toBe(today);
    expect(r.method).toBe("cupac");

    // By hand: θ = Σ_arms Σ (x − x̄)(y − ȳ) / Σ_arms Σ (x − x̄)²; uplift = (ȳc − ȳt) − θ(x̄c − x̄t); SE from y − θx per arm.
    const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
    const { control: c, treated: t } = arms;
    const centred = (a: { x: number[]; y: number[] }) => {
      const mx = mean(a.x);
      const my = mean(a.y);
      return { xy: a.x.reduce((s, x, i) => s + (x - mx) * (a.y[i] - my), 0), xx: a.x.reduce((s, x) => s + (x - mx) ** 2, 0) };
    };
    const theta = (centred(c).xy + centred(t).xy) / (centred(c).xx + centred(t).xx);
    const uplift = mean(c.y) - mean(t.y) - theta * (mean(c.x) - mean(t.x));
    const sampleVar = (v: number[]) => v.reduce((s, a) => s + (a - mean(v)) ** 2, 0) / (v.length - 1);
    const resid = (a: { x: number[]; y: number[] }) => a.y.map((y, i) => y - theta * a.x[i]);
    const se = Math.sqrt(sampleVar(resid(c)) / c.y.length + sampleVar(resid(t)) / t.y.length);
    expect(r.adjustment!.theta).toBeCloseTo(theta, 10);
    expect(r.uplift.estimate).toBeCloseTo(uplift, 10);
    expect(r.uplift.ci95![0]).toBeCloseTo(uplift - 1.959964 * se, 5);
    expect(r.uplift.ci95![1]).toBeCloseTo(uplift + 1.959964 * se, 5);
    expect(r.control).toEqual({ accounts: 48, churned: c.y.reduce((s, y) => s + y, 0), churnRate: mean(c.y), arr: 48 * 5000 });
    expect(r.arrProtected.estimate).toBeCloseTo(uplift * 192 * 5000, 4);
    // The prediction drives churn here, so the adjusted interval is narrower than the unadjusted one.
    const [lo, hi] = newcombe(c.y.reduce((s, y) => s + y, 0), 48, t.y.reduce((s, y) => s + y, 0), 192);
    expect(r.uplift.ci95![1] - r.uplift.ci95![0]).toBeLessThan(hi - lo);
    expect(r.adjustment!.varianceReduction).toBeGreaterThan(0.1);
    // The claim rule, whichever way this draw fell.
    if (r.uplift.ci95![0] > 0) expect(r.summary).toMatch(/^Playbooks cut churn by .* of treated ARR protected/);
    else expect(r.summary).not.toMatch(/ARR protected/);
    expect(r.owners.map((o) => o.owner)).toEqual(["dan"]);
    expect(r.owners[0].uplift).toEqual(r.uplift);
  });
});

describe("GET /v1/impact refuses bad input with problem+json naming the field", () => {
  for (const [query, field] of [
    ["?from=2026-13-01", "query.from"],
    ["?to=yesterday", "query.to"],
    [`?from=${dayOf(10)}&to=${dayOf(20)}`, "query.from"],
    [`?from=${addDays(today, 3)}`, "query.from"],
    ["?playbook=not%20an%20id!", "query.playbook"],
    ["?playbook=imp-nowhere", "query.playbook"],
  ] as const) {
    it(`${query} → 422 naming ${field}`, async () => {
      const res = await call("GET", `/v1/impact${query}`, { key: reader });
      expect(res.status).toBe(422);
      const p = await problemOf(res);
      // Each problem names the field (a malformed date can fail two of its rules).
      expect([...new Set(p.errors!.map((e) => e.field))]).toEqual([field]);
    });
  }

  it("needs a score or ingest key", async () => {
    expect((await call("GET", "/v1/impact")).status).toBe(401);
    expect((await call("GET", "/v1/impact", { key: await createKey(["banner"]) })).status).toBe(403);
    expect((await call("GET", "/v1/impact", { key: await createKey(["ingest"]) })).status).toBe(200);
  });

  it("is in /openapi.json", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, { parameters?: { name: string }[] }>> }>();
    expect(doc.paths["/v1/impact"].get.parameters!.map((p) => p.name).sort()).toEqual(["from", "playbook", "to"]);
  });
});
