/** This week's worklist and owners' loads, on real D1: ranking, capacity, the holdout, churned accounts, usage, bad input. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RescoreStarted } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { today as todayOf } from "../../../shared/db/write";
import { expectedArrSaved } from "../../../workers/worklist/policy";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";

interface Entry {
  id: string;
  arr: number | null;
  owner: string | null;
  score: { churnProbability: number; tier: string; actBy: string | null };
  expectedArrSaved: number;
  openIntervention: { id: string } | null;
  recommendation: { controlGroup: boolean; playbook: { id: string } | null; reasons: string[] };
}
interface Week {
  owner: string;
  capacity: number;
  week: { from: string; to: string };
  accounts: Entry[];
  candidates: number;
  skippedControl: number;
}
interface Load {
  owner: string;
  capacity: number;
  capacitySource: string;
  accounts: number;
  dueThisWeek: number;
  load: number;
  overCapacity: boolean;
}

const OWNER = "dana@cs.example";
const OTHER = "lee@cs.example";
const today = todayOf();
let admin: string;
let reader: string;

async function week(query: string): Promise<Week> {
  const res = await call("GET", `/v1/worklist?${query}`, { key: reader });
  expect(res.status).toBe(200);
  return res.json<Week>();
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  const accounts = Array.from({ length: 24 }, (_, i) => ({
    id: `WK-${String(i).padStart(2, "0")}`,
    name: `Week Co ${i}`,
    arr: 2000 + 1500 * (i % 5),
    owner: i < 20 ? OWNER : OTHER,
    renewalDate: addDays(today, 20 + 9 * i),
    features: { ...(i % 2 === 0 ? riskyCustomer : loyalCustomer), tenure: 1 + ((i * 5) % 40) },
  }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts } })).status).toBe(200);
  // Rescoring gives each account its trajectory, act-by date and holdout assignment, as every night.
  const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
  expect((await waitForRun(admin, started.runId, 60_000)).status).toBe("completed");
});

describe("GET /v1/worklist", () => {
  it("ranks the owner's accounts by churn probability × ARR × how soon actBy is, each with its recommendation", async () => {
    const w = await week(`owner=${encodeURIComponent(OWNER)}&capacity=50`);
    expect(w.owner).toBe(OWNER);
    expect(w.week).toEqual({ from: today, to: addDays(today, 6) });
    const control = (await env.DB.prepare("SELECT count(*) AS n FROM holdout_assignments WHERE arm = 'control' AND owner = ?1").bind(OWNER).first<{ n: number }>())!.n;
    expect(w.candidates).toBe(20);
    expect(w.accounts.length + w.skippedControl).toBe(20);
    expect(w.skippedControl).toBe(control);
    const stored = new Map(
      (await env.DB.prepare("SELECT id, arr, churn_probability, act_by FROM accounts WHERE owner = ?1").bind(OWNER).all<{ id: string; arr: number; churn_probability: number; act_by: string | null }>()).results.map((r) => [r.id, r]),
    );
    for (const e of w.accounts) {
      const s = stored.get(e.id)!;
      expect(e.owner).toBe(OWNER);
      expect(e.expectedArrSaved).toBeCloseTo(expectedArrSaved(s.churn_probability, s.arr, s.act_by, today), 2);
      expect(e.recommendation.controlGroup).toBe(false);
      expect(e.recommendation.reasons.length).toBeGreaterThan(0);
    }
    const values = w.accounts.map((e) => e.expectedArrSaved);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    // Red accounts come with a playbook; the riskiest, largest account is first.
    expect(w.accounts.some((e) => e.score.tier === "red" && e.recommendation.playbook !== null)).toBe(true);
  });

  it("returns at most the capacity: ?capacity=, else the owner's setting, else WORKLIST_CAPACITY", async () => {
    expect((await week(`owner=${encodeURIComponent(OWNER)}&capacity=4`)).accounts).toHaveLength(4);
    const byDefault = await week(`owner=${encodeURIComponent(OWNER)}`);
    expect(byDefault.capacity).toBe(Number(env.WORKLIST_CAPACITY));
    expect(byDefault.accounts.length).toBeLessThanOrEqual(byDefault.capacity);
    const put = await call("PUT", `/v1/worklist/owners/${encodeURIComponent(OWNER)}`, { key: admin, body: { capacity: 3 } });
    expect(put.status).toBe(200);
    const own = await week(`owner=${encodeURIComponent(OWNER)}`);
    expect(own.capacity).toBe(3);
    expect(own.accounts).toHaveLength(3);
    // The top three are the same accounts as the top three of the longer list.
    expect(own.accounts.map((e) => e.id)).toEqual(byDefault.accounts.slice(0, 3).map((e) => e.id));
  });

  it("skips an account the holdout holds out, and leaves churned accounts out", async () => {
    const before = await week(`owner=${encodeURIComponent(OWNER)}&capacity=50`);
    const [first, second] = before.accounts;
    await env.DB.prepare(
      "INSERT INTO holdout_assignments (account_id, tier, period, arm, owner, arr, churn_probability, window_days, assigned_at) VALUES (?1, 'red', ?2, 'control', ?3, 1, 0.5, 90, ?4)",
    )
      .bind(first.id, "1999-01", OWNER, new Date().toISOString())
      .run();
    const churned = await call("POST", "/v1/outcomes", { key: admin, body: { accountId: second.id, type: "churned", date: today } });
    expect(churned.status).toBe(200);
    const after = await week(`owner=${encodeURIComponent(OWNER)}&capacity=50`);
    expect(after.accounts.map((e) => e.id)).not.toContain(first.id);
    expect(after.accounts.map((e) => e.id)).not.toContain(second.id);
    expect(after.skippedControl).toBe(before.skippedControl + 1);
    expect(after.candidates).toBe(before.candidates - 1);
  });

  it("counts each view towards the owner's adoption", async () => {
    const count = async () => (await env.DB.prepare("SELECT count FROM owner_usage WHERE owner = ?1 AND day = ?2 AND action = 'worklist'").bind(OTHER, today).first<{ count: number }>())?.count ?? 0;
    const n = await count();
    await week(`owner=${encodeURIComponent(OTHER)}`);
    await week(`owner=${encodeURIComponent(OTHER)}`);
    expect(await count()).toBe(n + 2);
  });

  it("answers bad input with problem+json naming the field", async () => {
    for (const [query, field] of [
      ["", "owner"],
      [`owner=${OWNER}&capacity=0`, "capacity"],
      [`owner=${OWNER}&capacity=lots`, "capacity"],
    ]) {
      const res = await call("GET", `/v1/worklist?${query}`, { key: reader });
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors!.map((e) => e.field)).toContain(`query.${field}`);
    }
    expect((await call("GET", `/v1/worklist?owner=${OWNER}`)).status).toBe(401);
  });
});

describe("GET /v1/worklist/owners and PUT /v1/worklist/owners/{owner}", () => {
  it("shows each owner's accounts due this week against capacity", async () => {
    await call("PUT", `/v1/worklist/owners/${encodeURIComponent(OTHER)}`, { key: admin, body: { capacity: 1 } });
    const res = await call("GET", "/v1/worklist/owners", { key: reader });
    expect(res.status).toBe(200);
    const { owners } = await res.json<{ owners: Load[] }>();
    const byOwner = new Map(owners.map((o) => [o.owner, o]));
    for (const owner of [OWNER, OTHER]) {
      const due = (
        await env.DB.prepare(
          `SELECT count(*) AS n FROM accounts a WHERE a.owner = ?1 AND a.act_by IS NOT NULL AND a.act_by <= ?2
             AND NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'churned')
             AND NOT EXISTS (SELECT 1 FROM holdout_assignments h WHERE h.account_id = a.id AND h.arm = 'control' AND date(h.assigned_at, '+' || h.window_days || ' days') > ?3)`,
        )
          .bind(owner, addDays(today, 6), today)
          .first<{ n: number }>()
      )!.n;
      const o = byOwner.get(owner)!;
      expect(o.dueThisWeek).toBe(due);
      expect(o.load).toBeCloseTo(due / o.capacity, 2);
      expect(o.overCapacity).toBe(due > o.capacity);
    }
    expect(byOwner.get(OTHER)).toMatchObject({ capacity: 1, capacitySource: "owner", accounts: 4 });
    const loads = owners.map((o) => o.load);
    expect(loads).toEqual([...loads].sort((a, b) => b - a));
  });

  it("sets capacity for admin keys only, validating it", async () => {
    expect((await call("PUT", `/v1/worklist/owners/${OWNER}`, { key: reader, body: { capacity: 5 } })).status).toBe(403);
    for (const body of [{ capacity: 0 }, { capacity: 2.5 }, { capacity: "5" }, { capacity: 5, extra: true }]) {
      const res = await call("PUT", `/v1/worklist/owners/${OWNER}`, { key: admin, body });
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors!.length).toBeGreaterThan(0);
    }
  });
});
