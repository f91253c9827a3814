/** `GET /v1/roi` on real D1: impact and the forecast joined, checked against those two routes' own answers. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../../../shared/days";
import { accounts, holdoutAssignments, outcomes } from "../../../shared/db/schema";
import { chunkForInsert, db } from "../../../shared/db/write";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

const today = new Date().toISOString().slice(0, 10);
let admin: string;

interface Interval {
  estimate: number | null;
  ci95: [number, number] | null;
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  // The live portfolio the forecast reads: 40 scored accounts with renewals through the year.
  const live = Array.from({ length: 40 }, (_, i) => ({ id: `ROI-${i}`, name: `Roi ${i}`, owner: "ann", arr: 20_000 + 1000 * i, renewalDate: addDays(today, 10 + 9 * i), features: i % 3 === 0 ? riskyCustomer : loyalCustomer }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts: live } })).status).toBe(200);
  expect((await call("POST", "/v1/score/batch", { key: admin, body: { rows: live.map((a) => ({ accountId: a.id })) } })).status).toBe(200);
  // A past campaign with a clear effect: 300 treated accounts churned 10%, 100 held out churned 40%.
  const d = db(env.DB);
  const arms = Array.from({ length: 400 }, (_, i) => ({ id: `CAMP-${i}`, arm: i < 300 ? ("treated" as const) : ("control" as const), churned: i < 300 ? i % 10 === 0 : i % 10 < 4 }));
  for (const chunk of chunkForInsert(arms, 4)) await d.insert(accounts).values(chunk.map((a) => ({ id: a.id, arr: 10_000, owner: "ann", features: {} })));
  for (const chunk of chunkForInsert(arms, 12))
    await d.insert(holdoutAssignments).values(chunk.map((a) => ({ accountId: a.id, tier: "red" as const, period: "2026-01", arm: a.arm, playbookId: "red-rescue", playbookVersion: 1, owner: "ann", arr: 10_000, churnProbability: 0.3, windowDays: 90, assignedAt: `${addDays(today, -150)}T09:00:00.000Z` })));
  const churns = arms.filter((a) => a.churned).map((a) => ({ accountId: a.id, type: "churned" as const, date: addDays(today, -120) }));
  for (const chunk of chunkForInsert(churns, 4)) await d.insert(outcomes).values(chunk);
});

describe("GET /v1/roi", () => {
  it("projects the measured improvement onto next year's forecast churn and sizes the $2.5M target", async () => {
    const res = await call("GET", "/v1/roi", { key: admin });
    expect(res.status).toBe(200);
    const roi = await res.json<{
      protectedSoFar: Interval;
      relativeImprovement: Interval;
      churnedArrYear: { expected: number };
      projectedYear: Interval;
      target: { annual: number; requiredRelativeImprovement: number; requiredPortfolioArr: number | null };
      holdoutShare: number;
      portfolioArr: number;
      statement: string;
    }>();
    const impact = await (await call("GET", `/v1/impact?from=${addDays(today, -365)}&to=${today}`, { key: admin })).json<{ arrProtected: Interval; relativeImprovement: Interval }>();
    const ahead = await (await call("GET", "/v1/forecast?quarters=4", { key: admin })).json<{ quarters: { churnedArr: { expected: number } }[]; method: { arr: number } }>();
    expect(roi.protectedSoFar).toEqual(impact.arrProtected);
    expect(roi.relativeImprovement).toEqual(impact.relativeImprovement);
    // 40% → 10%: a 75% cut, clearly above zero.
    expect(roi.relativeImprovement.estimate).toBeGreaterThan(0.5);
    expect(roi.relativeImprovement.ci95![0]).toBeGreaterThan(0);
    const year = ahead.quarters.reduce((s, q) => s + q.churnedArr.expected, 0);
    expect(roi.churnedArrYear.expected).toBeCloseTo(year, 2);
    expect(roi.holdoutShare).toBe(Number(env.HOLDOUT_SHARE));
    const base = year * (1 - roi.holdoutShare);
    expect(roi.projectedYear.estimate).toBeCloseTo(roi.relativeImprovement.estimate! * base, 2);
    expect(roi.projectedYear.ci95![0]).toBeCloseTo(roi.relativeImprovement.ci95![0] * base, 2);
    expect(roi.target.annual).toBe(2_500_000);
    expect(roi.target.requiredRelativeImprovement).toBeCloseTo(2_500_000 / base, 6);
    expect(roi.target.requiredPortfolioArr).toBeCloseTo(2_500_000 / (roi.relativeImprovement.estimate! * (1 - roi.holdoutShare) * (year / ahead.method.arr)), -2);
    expect(roi.statement).toMatch(/^Playbooks protected \$/);
    expect(roi.statement).toContain("this portfolio is too small for the target");
  });

  it("takes another target, and refuses a bad one naming it", async () => {
    const small = await (await call("GET", "/v1/roi?target=1000", { key: admin })).json<{ target: { annual: number; requiredRelativeImprovement: number } }>();
    expect(small.target.annual).toBe(1000);
    const bad = await call("GET", "/v1/roi?target=-5", { key: admin });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors!.map((e) => e.field)).toContain("query.target");
  });
});
