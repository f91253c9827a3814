/**
 * CSM feedback inside workerd with real local D1 and R2: a verdict is recorded on the account's
 * current score (its figures copied), problems name fields and write nothing, an account never
 * scored is a 409, and each verdict counts as a use by its owner for the day.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../client/index";
import { today } from "../../../shared/db/write";
import type { z } from "zod";
import type { Feedback, FeedbackAccuracy } from "../../../workers/feedback/schemas";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

type FeedbackView = z.infer<typeof Feedback>;
let key: string;
let score: { churnProbability: number; riskTier: string; modelVersion: string };

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["score", "ingest"]);
  for (const [id, owner, features] of [["FB-1", "dana", riskyCustomer], ["FB-2", "lee", loyalCustomer], ["FB-3", "dana", riskyCustomer], ["FB-NEW", "dana", riskyCustomer]] as const) {
    expect((await call("PUT", `/v1/accounts/${id}`, { key, body: { name: id, owner, features } })).status).toBe(200);
  }
  const scored = await call("POST", "/v1/score", { key, body: { accountId: "FB-1" } });
  expect(scored.status).toBe(200);
  score = await scored.json();
  for (const id of ["FB-2", "FB-3"]) expect((await call("POST", "/v1/score", { key, body: { accountId: id } })).status).toBe(200);
});

const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const uses = (owner: string) => count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage WHERE owner = ?1 AND day = ?2 AND action = 'feedback'", owner, today());
const otherTier = (t: string) => (t === "red" ? "green" : "red");

describe("POST /v1/accounts/{id}/feedback", () => {
  it("records a verdict on the current score with its id, model version, probability and tier, owned by the account's owner", async () => {
    const before = await uses("dana");
    const res = await call("POST", "/v1/accounts/FB-1/feedback", { key, body: { verdict: "agree", reason: "Usage collapsed after the reorg" } });
    expect(res.status).toBe(201);
    const f = await res.json<FeedbackView>();
    const scoreId = (await env.DB.prepare("SELECT score_id AS id FROM accounts WHERE id = 'FB-1'").first<{ id: number }>())!.id;
    expect(f).toMatchObject({
      accountId: "FB-1",
      scoreId,
      modelVersion: score.modelVersion,
      churnProbability: score.churnProbability,
      riskTier: score.riskTier,
      verdict: "agree",
      reason: "Usage collapsed after the reorg",
      expectedTier: null,
      owner: "dana",
    });
    expect(await uses("dana")).toBe(before + 1);
  });

  it("records a disagreement with the tier the CSM expects, from a named owner", async () => {
    const before = await uses("kim");
    const expectedTier = otherTier(score.riskTier);
    expect((await call("POST", "/v1/accounts/FB-3/feedback", { key, body: { verdict: "agree", reason: "Looks right" } })).status).toBe(201);
    const res = await call("POST", "/v1/accounts/FB-3/feedback", { key, body: { verdict: "disagree", reason: "They just signed a 3-year deal", expectedTier, owner: "kim" } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ verdict: "disagree", expectedTier, owner: "kim", riskTier: score.riskTier });
    expect(await uses("kim")).toBe(before + 1);

    const list = await call("GET", "/v1/accounts/FB-3/feedback", { key });
    expect(list.status).toBe(200);
    const { feedback } = await list.json<{ feedback: FeedbackView[] }>();
    expect(feedback.map((x) => x.verdict)).toEqual(["disagree", "agree"]);
    expect(feedback[0].createdAt >= feedback[1].createdAt).toBe(true);
    expect((await (await call("GET", "/v1/accounts/FB-3/feedback?limit=1", { key })).json<{ feedback: FeedbackView[] }>()).feedback).toHaveLength(1);
  });

  it("refuses contradictions and bad fields with a 422 naming the field, an unknown account with a 404 and an unscored one with a 409, writing nothing", async () => {
    const rows = await count("SELECT count(*) AS n FROM feedback");
    const used = await count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage");
    const cases: [path: string, body: unknown, status: number, field: string][] = [
      ["/v1/accounts/FB-1/feedback", { verdict: "disagree", reason: "r", expectedTier: score.riskTier }, 422, "expectedTier"],
      ["/v1/accounts/FB-1/feedback", { verdict: "agree", reason: "r", expectedTier: otherTier(score.riskTier) }, 422, "expectedTier"],
      ["/v1/accounts/FB-1/feedback", { verdict: "maybe", reason: "r" }, 422, "verdict"],
      ["/v1/accounts/FB-1/feedback", { verdict: "agree" }, 422, "reason"],
      ["/v1/accounts/FB-1/feedback", { verdict: "agree", reason: "" }, 422, "reason"],
      ["/v1/accounts/FB-1/feedback", { verdict: "disagree", reason: "r", expectedTier: "blue" }, 422, "expectedTier"],
      ["/v1/accounts/FB-1/feedback", { verdict: "agree", reason: "r", score: 1 }, 422, "body"],
      ["/v1/accounts/NOPE/feedback", { verdict: "agree", reason: "r" }, 404, "id"],
      ["/v1/accounts/FB-NEW/feedback", { verdict: "agree", reason: "r" }, 409, "id"],
    ];
    for (const [path, body, status, field] of cases) {
      const res = await call("POST", path, { key, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      const p: Problem = await problemOf(res);
      expect(p.errors!.map((e) => e.field), JSON.stringify(body)).toContain(field);
    }
    expect(await count("SELECT count(*) AS n FROM feedback")).toBe(rows);
    expect(await count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage")).toBe(used);
    expect((await call("GET", "/v1/accounts/NOPE/feedback", { key })).status).toBe(404);
  });

  it("counts each verdict per owner per day", async () => {
    const before = { lee: await uses("lee"), dana: await uses("dana") };
    for (let i = 0; i < 3; i++) expect((await call("POST", "/v1/accounts/FB-2/feedback", { key, body: { verdict: "agree", reason: `check ${i}` } })).status).toBe(201);
    expect(await uses("lee")).toBe(before.lee + 3);
    expect(await uses("dana")).toBe(before.dana);
    expect(await count("SELECT count(*) AS n FROM owner_usage WHERE owner = 'lee' AND action = 'feedback' AND day = ?1", today())).toBe(1);
    // GET /v1/adoption reads the same counts.
    const adoption = await (await call("GET", `/v1/adoption?asOf=${today()}`, { key })).json<{ workdays: string[]; owners: { owner: string; counts: { feedback: number }; lastActiveDay: string | null }[] }>();
    const lee = adoption.owners.find((o) => o.owner === "lee")!;
    expect(lee.lastActiveDay).toBe(today());
    expect(lee.counts.feedback).toBe(adoption.workdays.includes(today()) ? before.lee + 3 : 0);
  });
});

describe("GET /v1/feedback/accuracy", () => {
  it("takes its horizon from the active churn model and says it is too early to judge", async () => {
    const res = await call("GET", "/v1/feedback/accuracy", { key });
    expect(res.status).toBe(200);
    const r = await res.json<z.infer<typeof FeedbackAccuracy>>();
    expect(r).toMatchObject({ horizonDays: 90, horizonSource: "model", evaluable: 0, brier: { model: null, csm: null, blend: null }, disagreed: { csmRightRate: null } });
    expect(r.pending).toBe(r.considered);
    expect(r.notes.join(" ")).toContain("need at least 30");
  });

  it("is listed in the OpenAPI document with the feedback routes", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/accounts/{id}/feedback"]).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/v1/feedback/accuracy"])).toEqual(["get"]);
  });
});
