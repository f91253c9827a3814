/** The expansion pipeline on real D1: expected expansion ARR, its size basis, totals, the trend across rescorings. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RescoreStarted } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { today as todayOf } from "../../../shared/db/write";
import { median } from "../../../workers/opportunities/sizing";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, waitForRun } from "../helpers";

interface Opp {
  id: string;
  owner: string | null;
  arr: number | null;
  expansionProbability: number;
  sizeEstimate: number;
  sizeBasis: string;
  expectedExpansionArr: number;
}
interface Body {
  sizeBases: { segment: string; share: number; expansions: number; source: string }[];
  opportunities: Opp[];
  totals: {
    accounts: number;
    arr: number;
    expectedExpansionArr: number;
    byOwner: { owner: string | null; accounts: number; arr: number; expectedExpansionArr: number }[];
    previous: { accounts: number; arr: number; expectedExpansionArr: number } | null;
    change: { accounts: number; arr: number; expectedExpansionArr: number } | null;
  };
}

// Green and expansion-ready under the Telco fixture model and the cold-start scorecard (as in the insights test).
const blue = { ...loyalCustomer, OnlineSecurity: "No", TechSupport: "No" };
const today = todayOf();
let admin: string;
let reader: string;

const ids = Array.from({ length: 8 }, (_, i) => `OP-${i}`);
const owner = (i: number) => (i < 5 ? "ann@cs.example" : "bob@cs.example");
const arrOf = (i: number) => 10_000 * (i + 1);
const EXPANSIONS = [0.1, 0.2, 0.3, 0.25, 0.15, 0.4];

async function rescore(): Promise<void> {
  const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
  expect((await waitForRun(admin, started.runId, 60_000)).status).toBe("completed");
}

async function pipeline(query = ""): Promise<Body> {
  const res = await call("GET", `/v1/opportunities${query}`, { key: reader });
  expect(res.status).toBe(200);
  return res.json<Body>();
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  const accounts = ids.map((id, i) => ({ id, name: `Opp ${i}`, owner: owner(i), arr: arrOf(i), features: blue }));
  // Six other accounts expanded this year by known shares of their ARR.
  const history = EXPANSIONS.map((share, i) => ({ id: `EXP-${i}`, name: `Grown ${i}`, owner: "cat@cs.example", arr: 20_000, features: loyalCustomer, share }));
  expect((await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts: [...accounts, ...history.map(({ share: _, ...a }) => a)] } })).status).toBe(200);
  const outcomes = history.map((h, i) => ({ accountId: h.id, type: "expanded", date: addDays(today, -30 - i), amount: h.share * h.arr }));
  // An expansion older than a year does not count.
  outcomes.push({ accountId: "EXP-0", type: "expanded", date: addDays(today, -400), amount: 19_000 });
  expect((await call("POST", "/v1/outcomes", { key: admin, body: { outcomes } })).status).toBe(200);
  await rescore();
});

describe("GET /v1/opportunities", () => {
  it("sizes each expansion-ready account at probability × ARR × the median expansion share", async () => {
    const body = await pipeline();
    const share = median(EXPANSIONS);
    expect(body.sizeBases).toEqual([{ segment: "all", share, expansions: 6, source: "portfolio" }]);
    const stored = new Map(
      (await env.DB.prepare("SELECT id, arr, expansion_probability, tier FROM accounts").all<{ id: string; arr: number; expansion_probability: number; tier: string }>()).results.map((r) => [r.id, r]),
    );
    const blueIds = [...stored.values()].filter((r) => r.tier === "blue").map((r) => r.id);
    expect(blueIds.length).toBeGreaterThanOrEqual(ids.length);
    expect(body.opportunities.map((o) => o.id).sort()).toEqual(blueIds.sort());
    for (const o of body.opportunities) {
      const r = stored.get(o.id)!;
      expect(o.sizeEstimate).toBeCloseTo(r.arr * share, 2);
      expect(o.expectedExpansionArr).toBeCloseTo(r.expansion_probability * r.arr * share, 2);
      expect(o.sizeBasis).toBe("portfolio");
    }
    const values = body.opportunities.map((o) => o.expectedExpansionArr);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(body.totals.accounts).toBe(blueIds.length);
    expect(body.totals.expectedExpansionArr).toBeCloseTo(values.reduce((a, b) => a + b, 0), 1);
    const ann = body.totals.byOwner.find((o) => o.owner === "ann@cs.example")!;
    expect(ann.accounts).toBe(5);
    expect(ann.arr).toBe([0, 1, 2, 3, 4].reduce((s, i) => s + arrOf(i), 0));
    // One rescoring so far: nothing to compare with.
    expect(body.totals.previous).toBeNull();
  });

  it("filters by owner and limits the list, not the definition of the totals", async () => {
    const bob = await pipeline("?owner=bob%40cs.example&limit=2");
    expect(bob.opportunities).toHaveLength(2);
    expect(bob.opportunities.every((o) => o.owner === "bob@cs.example")).toBe(true);
    expect(bob.totals.accounts).toBe(3);
  });

  it("reports the change since the rescoring before the latest one", async () => {
    const before = await pipeline();
    // Two accounts lose their readiness (a risky contract), then the next rescoring.
    for (const id of ["OP-6", "OP-7"]) expect((await call("PATCH", `/v1/accounts/${id}`, { key: admin, body: { features: { Contract: "Month-to-month", tenure: 1 } } })).status).toBe(200);
    await rescore();
    const after = await pipeline();
    expect(after.totals.previous).toMatchObject({ accounts: before.totals.accounts, arr: before.totals.arr });
    expect(after.totals.previous!.expectedExpansionArr).toBeCloseTo(before.totals.expectedExpansionArr, 1);
    expect(after.totals.change!.accounts).toBe(after.totals.accounts - before.totals.accounts);
    expect(after.totals.change!.accounts).toBeLessThanOrEqual(-2);
    expect(after.opportunities.map((o) => o.id)).not.toContain("OP-7");
  });

  it("answers bad input with problem+json naming the field", async () => {
    const res = await call("GET", "/v1/opportunities?limit=0", { key: reader });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors!.map((e) => e.field)).toContain("query.limit");
  });
});
