/**
 * Every route of playbooks, interventions, feedback, the worklist, impact, adoption and insights
 * answers bad input with a 4xx problem+json, never a 5xx, and writes nothing.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

let admin: string;

const TABLES = ["outcomes", "playbooks", "interventions", "feedback", "holdout_assignments", "owners", "insights", "owner_usage"];

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = (await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>())!.n;
  return out;
}

/** [method, path, body or raw text] cases that must all be refused. */
const CASES: [string, string, unknown][] = [
  ["POST", "/v1/playbooks", "{not json"],
  ["POST", "/v1/playbooks", []],
  ["POST", "/v1/playbooks", { name: "x", tier: "purple", leadDays: 7, steps: [{ title: "a", dueDays: 1 }], template: { subject: "s", body: "b" } }],
  ["POST", "/v1/playbooks", { name: "x", tier: "red", leadDays: -1, steps: [], template: { subject: 1 } }],
  ["PUT", "/v1/playbooks/red-rescue", { name: 5 }],
  ["PATCH", "/v1/playbooks/red-rescue", {}],
  ["PATCH", "/v1/playbooks/red-rescue", { steps: [{ title: "", dueDays: 1.5 }] }],
  ["PATCH", "/v1/playbooks/no-such-playbook", { leadDays: 3 }],
  ["DELETE", "/v1/playbooks/no such id", undefined],
  ["GET", "/v1/playbooks/red-rescue/versions/zero", undefined],
  ["GET", "/v1/accounts/BAD-1/recommendation", undefined],
  ["GET", "/v1/accounts/no such/recommendation", undefined],
  ["POST", "/v1/interventions", "{"],
  ["POST", "/v1/interventions", { accountId: "BAD-1", playbookId: "no-such-playbook", owner: "x" }],
  ["POST", "/v1/interventions", { accountId: "nobody", playbookId: "red-rescue", owner: "x" }],
  ["POST", "/v1/interventions", { accountId: "BAD-1", playbookId: "red-rescue", startedAt: "yesterday" }],
  ["PATCH", "/v1/interventions/iv_nothing", { status: "completed" }],
  ["POST", "/v1/accounts/BAD-1/feedback", { verdict: "maybe" }],
  ["POST", "/v1/accounts/BAD-1/feedback", { verdict: "disagree", expectedTier: "blue-ish" }],
  ["POST", "/v1/accounts/nobody/feedback", { verdict: "agree" }],
  ["GET", "/v1/feedback/accuracy?from=2026-13-01", undefined],
  ["GET", "/v1/worklist", undefined],
  ["GET", "/v1/worklist?owner=x&capacity=-3", undefined],
  ["PUT", "/v1/worklist/owners/x", { capacity: "ten" }],
  ["GET", "/v1/impact?from=2026-02-30", undefined],
  ["GET", "/v1/impact?from=2026-06-01&to=2026-01-01", undefined],
  ["GET", "/v1/impact?playbook=../../etc", undefined],
  ["GET", "/v1/adoption?asOf=today", undefined],
  ["GET", "/v1/insights?week=2026-49", undefined],
  // A day that does not exist is refused, not rolled over to March.
  ["POST", "/v1/outcomes", { accountId: "BAD-1", type: "churned", date: "2026-02-30" }],
  ["POST", "/v1/insights/generate", { week: "soon" }],
];

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  // BAD-1 exists but has never been scored.
  expect((await call("PUT", "/v1/accounts/BAD-1", { key: admin, body: { name: "Bad Input Co", owner: "x", features: riskyCustomer } })).status).toBe(200);
});

describe("bad input to the customer-success routes", () => {
  it("gets a 4xx problem+json with a detail (and errors[] naming fields on 422), never a 5xx, and writes nothing", async () => {
    await call("GET", "/v1/playbooks", { key: admin }); // the defaults, written on first read
    const before = await counts();
    for (const [method, path, body] of CASES) {
      const res = await call(method, path, typeof body === "string" ? { key: admin, raw: body } : { key: admin, body });
      const what = `${method} ${path} ${JSON.stringify(body)}`;
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      const problem = await problemOf(res);
      expect(problem.detail.length, what).toBeGreaterThan(0);
      if (res.status === 422) expect(problem.errors?.length, what).toBeGreaterThan(0);
    }
    expect(await counts()).toEqual(before);
  });
});
