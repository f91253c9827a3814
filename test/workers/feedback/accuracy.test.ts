/**
 * The feedback accuracy report on constructed verdicts and outcomes in real D1 (no model active, so
 * the horizon is the 90-day default). Every figure below is worked out by hand in the comments.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { addDays } from "../../../shared/days";
import { accounts, feedback, outcomes } from "../../../shared/db/schema";
import { db, today } from "../../../shared/db/write";
import type { FeedbackAccuracy } from "../../../workers/feedback/schemas";
import { call, createKey, problemOf } from "../helpers";

type Report = z.infer<typeof FeedbackAccuracy>;
let key: string;
const T = today();
const at = (daysAgo: number) => `${addDays(T, -daysAgo)}T12:00:00.000Z`;

interface Case {
  n: number;
  tier: "red" | "yellow" | "green";
  p: number;
  verdict: "agree" | "disagree";
  expected?: "red" | "yellow" | "green";
  /** Days ago the verdict was given (default 200: its 90-day horizon has passed). */
  given?: number;
  /** Days ago the account churned, if it did. */
  churned?: number[];
}

/*
 * Groups (200 days ago unless said; churn 170 days ago = 30 days after the verdict):
 * A 10 agree green 0.1, none churned in the horizon (one churned 50 days ago, 150 days after: outside it)
 * B 10 agree red 0.8, 6 churned      C 6 disagree green 0.1 → red, 4 churned (CSM right), 2 not
 * D 6 disagree red 0.8 → green, 1 churned, 5 not (CSM right)      E 2 agree yellow 0.5, 1 churned
 * F 1 disagree yellow 0.5 with no tier    G 2 agree green 0.1 given 10 days ago: pending
 * H 1 disagree green 0.1 → yellow given 10 days ago, churned 5 days ago: settled early, CSM right
 * I 1 agree green 0.1 on an account that churned 300 days ago: gone
 * J 1 account with two verdicts on the same score: disagree → red (201 days ago), then agree: only the agree counts
 * K 1 verdict 400 days ago: outside the default 365-day period
 */
const CASES: Record<string, Case> = {
  A: { n: 10, tier: "green", p: 0.1, verdict: "agree", churned: [50] },
  B: { n: 10, tier: "red", p: 0.8, verdict: "agree", churned: [170, 170, 170, 170, 170, 170] },
  C: { n: 6, tier: "green", p: 0.1, verdict: "disagree", expected: "red", churned: [170, 170, 170, 170] },
  D: { n: 6, tier: "red", p: 0.8, verdict: "disagree", expected: "green", churned: [170] },
  E: { n: 2, tier: "yellow", p: 0.5, verdict: "agree", churned: [170] },
  F: { n: 1, tier: "yellow", p: 0.5, verdict: "disagree" },
  G: { n: 2, tier: "green", p: 0.1, verdict: "agree", given: 10 },
  H: { n: 1, tier: "green", p: 0.1, verdict: "disagree", expected: "yellow", given: 10, churned: [5] },
  I: { n: 1, tier: "green", p: 0.1, verdict: "agree", churned: [300] },
  K: { n: 1, tier: "red", p: 0.8, verdict: "agree", given: 400 },
};

beforeAll(async () => {
  key = await createKey(["score"]);
  const d = db(env.DB);
  const acc: (typeof accounts.$inferInsert)[] = [];
  const fb: (typeof feedback.$inferInsert)[] = [];
  const out: (typeof outcomes.$inferInsert)[] = [];
  let scoreId = 1000;
  for (const [group, c] of Object.entries(CASES)) {
    for (let i = 0; i < c.n; i++) {
      const accountId = `ACC-${group}${i}`;
      acc.push({ id: accountId, owner: "dana" });
      fb.push({ accountId, scoreId: scoreId++, modelVersion: "churn-test", churnProbability: c.p, riskTier: c.tier, verdict: c.verdict, expectedTier: c.expected ?? null, reason: group, createdAt: at(c.given ?? 200) });
      const churnedAgo = c.churned?.[i];
      if (churnedAgo !== undefined) out.push({ accountId, type: "churned", date: addDays(T, -churnedAgo) });
    }
  }
  acc.push({ id: "ACC-J", owner: "dana" });
  fb.push({ accountId: "ACC-J", scoreId: 1, modelVersion: "churn-test", churnProbability: 0.1, riskTier: "green", verdict: "disagree", expectedTier: "red", reason: "first", createdAt: at(201) });
  fb.push({ accountId: "ACC-J", scoreId: 1, modelVersion: "churn-test", churnProbability: 0.1, riskTier: "green", verdict: "agree", reason: "on second thought", createdAt: at(200) });
  await d.insert(accounts).values(acc);
  for (let i = 0; i < fb.length; i += 8) await d.insert(feedback).values(fb.slice(i, i + 8));
  for (let i = 0; i < out.length; i += 20) await d.insert(outcomes).values(out.slice(i, i + 20));
});

async function report(query = ""): Promise<Report> {
  const res = await call("GET", `/v1/feedback/accuracy${query}`, { key });
  expect(res.status).toBe(200);
  return res.json<Report>();
}

describe("GET /v1/feedback/accuracy", () => {
  it("counts who was right and the Brier scores of the model, the CSMs and the blend, as worked out by hand", async () => {
    const r = await report();
    expect(r).toMatchObject({ to: T, from: addDays(T, -365), horizonDays: 90, horizonSource: "default" });
    // 43 verdicts in all; K is outside the period, and J's two on one score count once.
    expect(r.feedback).toBe(10 + 10 + 6 + 6 + 2 + 1 + 2 + 1 + 1 + 2);
    expect(r.considered).toBe(40);
    // G is pending, I is gone; H is settled early by its churn.
    expect(r.pending).toBe(2);
    expect(r.gone).toBe(1);
    expect(r.evaluable).toBe(37);
    // B 6 + C 4 + D 1 + E 1 + H 1 (A's churn 150 days after the verdict is outside the horizon).
    expect(r.churned).toBe(13);
    expect(r.agreed).toEqual({ evaluable: 10 + 10 + 2 + 1, churned: 7 });
    // Disagreements: C 6, D 6, F 1, H 1; F stated no tier. Right: C 4 + D 5 + H 1 = 10 of 13.
    expect(r.disagreed).toEqual({ evaluable: 14, withExpectedTier: 13, csmRight: 10, modelRight: 3, csmRightRate: 0.769231 });
    // Mean model probability per tier over the 40 considered verdicts' scores.
    expect(r.tierProbability).toEqual({ red: 0.8, yellow: 0.5, green: 0.1 });
    // 36 rows (37 evaluable minus F). Squared errors, model: A 10×0.01 + J 0.01 + B 6×0.04 + 4×0.64 + E 0.25 + 0.25
    // + C 4×0.81 + 2×0.01 + D 0.04 + 5×0.64 + H 0.81 = 10.72 → /36 = 0.297778.
    // CSM (tier as probability): agree rows as the model; C at 0.8: 4×0.04 + 2×0.64 = 1.44; D at 0.1: 0.81 + 5×0.01 = 0.86;
    // H at 0.5: 0.25 → 3.41 + 1.44 + 0.86 + 0.25 = 5.96 → 0.165556.
    // Blend: C and D at 0.45: 4×0.3025 + 2×0.2025 = 1.615, 0.3025 + 5×0.2025 = 1.315; H at 0.3: 0.49 → 6.83 → 0.189722.
    expect(r.brier).toEqual({ rows: 36, churned: 13, model: 0.297778, csm: 0.165556, blend: 0.189722, best: "csm" });
    expect(r.notes.join(" ")).toContain("1 evaluable disagreement(s) stated no expectedTier");
  });

  it("a horizon from the query changes which verdicts are evaluable", async () => {
    // With 365 days no verdict from 200 days ago has passed its horizon; only the early churns settle.
    const r = await report("?horizonDays=365");
    expect(r).toMatchObject({ horizonDays: 365, horizonSource: "query" });
    // Churned within 365 days of the verdict: B 6, C 4, D 1, E 1, H 1 and A's churn 150 days after.
    expect(r.evaluable).toBe(14);
    expect(r.churned).toBe(14);
    expect(r.brier).toMatchObject({ model: null, csm: null, blend: null });
  });

  it("with too few evaluable verdicts gives nulls and says why, never noise", async () => {
    const r = await report(`?from=${addDays(T, -15)}`);
    // Only G (pending) and H (settled) were given in the last 15 days.
    expect(r).toMatchObject({ feedback: 3, considered: 3, evaluable: 1, pending: 2 });
    // H's CSM expected yellow, a tier none of the period's scores had: it has no probability.
    expect(r.tierProbability).toEqual({ red: null, yellow: null, green: 0.1 });
    expect(r.brier).toEqual({ rows: 0, churned: 0, model: null, csm: null, blend: null, best: null });
    expect(r.disagreed).toEqual({ evaluable: 1, withExpectedTier: 1, csmRight: 1, modelRight: 0, csmRightRate: null });
    expect(r.notes.join(" ")).toContain("1 evaluable verdict(s) state a tier no score in the period had");
    expect(r.notes.join(" ")).toContain("Only 0 evaluable verdict(s) with a known CSM tier; the Brier scores need at least 30");
    expect(r.notes.join(" ")).toContain("how often CSMs were right needs at least 10");
  });

  it("refuses a period that ends before it starts and bad parameters, naming them", async () => {
    for (const [query, field] of [
      [`?from=${T}&to=${addDays(T, -1)}`, "from"],
      ["?horizonDays=0", "horizonDays"],
      ["?to=2026-13-01", "to"],
    ] as const) {
      const res = await call("GET", `/v1/feedback/accuracy${query}`, { key });
      expect(res.status, query).toBe(422);
      expect((await problemOf(res)).errors!.map((e) => e.field).join(), query).toContain(field);
    }
  });
});
