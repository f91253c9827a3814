/** Portfolio figures, the worklist with keyset cursors, and score history, on real D1. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { newRunId, recordCompletedRun } from "../../../shared/db/portfolio";
import type { Portfolio, PortfolioTier, ScoreHistory, Worklist } from "../../../client/index";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

let key: string;
const OWNER = "worklist-owner";

/** 30 accounts for one owner, with spread ARR and risk, each scored once. */
async function seed(): Promise<void> {
  const accounts = Array.from({ length: 30 }, (_, i) => ({
    id: `WL-${String(i).padStart(2, "0")}`,
    name: `Worklist ${i}`,
    arr: 1000 + 500 * (i % 7),
    owner: OWNER,
    features: { ...(i % 3 === 0 ? riskyCustomer : loyalCustomer), tenure: (i * 7) % 72 },
  }));
  expect((await call("POST", "/v1/accounts/batch", { key, body: { accounts } })).status).toBe(200);
  const scored = await call("POST", "/v1/score/batch", { key, body: { rows: accounts.map((a) => ({ accountId: a.id })) } });
  expect(scored.status).toBe(200);
}

async function page(query: string): Promise<Worklist> {
  const res = await call("GET", `/v1/accounts?${query}`, { key });
  expect(res.status).toBe(200);
  return res.json<Worklist>();
}

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["score", "ingest"]);
  await seed();
});

describe("GET /v1/accounts (worklist)", () => {
  it("sorts by ARR at risk, largest first, with each account's current score and next action", async () => {
    const b = await page(`owner=${OWNER}&limit=100`);
    expect(b.accounts).toHaveLength(30);
    expect(b.nextCursor).toBeNull();
    const risks = b.accounts.map((a) => a.arrAtRisk);
    expect(risks).toEqual([...risks].sort((x, y) => y - x));
    for (const a of b.accounts) {
      expect(a.arrAtRisk).toBeCloseTo(a.arr! * a.score!.churnProbability, 9);
      expect(a.score!.topDrivers.length).toBeGreaterThan(0);
      expect(a.score!.nextAction.length).toBeGreaterThan(5);
    }
  });

  it("filters by tier, owner and minimum ARR", async () => {
    const red = await page(`owner=${OWNER}&tier=red&limit=100`);
    expect(red.accounts.length).toBeGreaterThan(0);
    expect(red.accounts.every((a) => a.score!.tier === "red")).toBe(true);
    const greenOrBlue = await page(`owner=${OWNER}&tier=green,blue&limit=100`);
    expect(greenOrBlue.accounts.every((a) => ["green", "blue"].includes(a.score!.tier))).toBe(true);
    const big = await page(`owner=${OWNER}&minArr=3000&limit=100`);
    expect(big.accounts.length).toBeGreaterThan(0);
    expect(big.accounts.every((a) => a.arr! >= 3000)).toBe(true);
    expect((await page("owner=nobody-owns-this")).accounts).toEqual([]);
  });

  it("walks pages by cursor with no duplicates or gaps while accounts are added and rescored between pages", async () => {
    const all = (await page(`owner=${OWNER}&limit=100`)).accounts.map((a) => a.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const b: Worklist = await page(`owner=${OWNER}&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...b.accounts.map((a) => a.id));
      cursor = b.nextCursor;
      if (pages === 0) {
        // Concurrent writes: a new account that sorts first, and rescoring of accounts not yet seen.
        await call("PUT", "/v1/accounts/WL-NEW", { key, body: { arr: 999_999, owner: OWNER, features: riskyCustomer } });
        await call("POST", "/v1/score", { key, body: { accountId: "WL-NEW" } });
        const unseen = all.filter((id) => !seen.includes(id)).slice(-3);
        await call("POST", "/v1/score/batch", { key, body: { rows: unseen.map((accountId) => ({ accountId })) } });
      }
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => id !== "WL-NEW").sort()).toEqual([...all].sort());
    // The walk started before WL-NEW existed and WL-NEW sorts first, so the walk did not see it.
    expect(seen).not.toContain("WL-NEW");
  });

  it("sorts ascending and by other keys, and refuses a cursor from another sort", async () => {
    const asc = await page(`owner=${OWNER}&sort=churnProbability&limit=100`);
    const p = asc.accounts.map((a) => a.score!.churnProbability);
    expect(p).toEqual([...p].sort((x, y) => x - y));
    const byArr = await page(`owner=${OWNER}&sort=-arr&limit=3`);
    const res = await call("GET", `/v1/accounts?owner=${OWNER}&sort=id&cursor=${byArr.nextCursor}`, { key });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors![0].field).toBe("cursor");
    const garbage = await call("GET", "/v1/accounts?cursor=%%%", { key });
    expect(garbage.status).toBe(422);
    const badTier = await call("GET", "/v1/accounts?tier=purple", { key });
    expect((await problemOf(badTier)).errors![0].field).toBe("query.tier");
  });
});

describe("GET /v1/accounts/{id}/scores", () => {
  it("returns the history newest first, each score with its model version, paged by cursor", async () => {
    for (let i = 0; i < 3; i++) await call("POST", "/v1/score", { key, body: { accountId: "WL-01" } });
    const res = await call("GET", "/v1/accounts/WL-01/scores?limit=2", { key });
    expect(res.status).toBe(200);
    const h = await res.json<ScoreHistory>();
    expect(h.scores).toHaveLength(2);
    expect(h.scores[0].id).toBeGreaterThan(h.scores[1].id);
    expect(h.scores[0].source).toBe("api");
    expect(h.scores[0].modelVersion).toMatch(/^churn-/);
    const rest = await (await call("GET", `/v1/accounts/WL-01/scores?cursor=${h.nextCursor}`, { key })).json<ScoreHistory>();
    expect(rest.scores.length).toBe(2); // 4 scores in all: the batch one, then three single ones
    expect(rest.scores.at(-1)!.source).toBe("batch");
    expect(rest.nextCursor).toBeNull();
    expect((await call("GET", "/v1/accounts/NOPE/scores", { key })).status).toBe(404);
  });
});

describe("GET /v1/portfolio", () => {
  it("adds up tiers and ARR at risk from current scores, and compares with the previous rescoring", async () => {
    const first = await (await call("GET", "/v1/portfolio", { key })).json<Portfolio>();
    const rows = await env.DB.prepare("SELECT tier, count(*) AS n, sum(arr) AS arr, sum(arr * churn_probability) AS risk FROM accounts WHERE tier IS NOT NULL GROUP BY tier").all<{ tier: PortfolioTier; n: number; arr: number; risk: number }>();
    for (const r of rows.results) {
      expect(first.tiers[r.tier].accounts).toBe(r.n);
      expect(first.tiers[r.tier].arr).toBeCloseTo(r.arr, 6);
    }
    expect(first.arrAtRisk).toBeCloseTo(rows.results.reduce((a, r) => a + r.risk, 0), 6);
    expect(first.previous).toBeNull();

    // Two rescorings, with an account turning red in between: the answer reads "up from".
    await recordCompletedRun(env.DB, { id: newRunId(new Date(Date.now() - 60_000)), trigger: "test", modelVersion: "v", accounts: 0, scored: 0, tierChanges: 0, startedAt: new Date().toISOString() });
    await call("PUT", "/v1/accounts/WL-TURNS-RED", { key, body: { arr: 50_000, owner: "other", features: riskyCustomer } });
    await call("POST", "/v1/score/batch", { key, body: { rows: [{ accountId: "WL-TURNS-RED" }] } });
    await new Promise((r) => setTimeout(r, 5));
    await recordCompletedRun(env.DB, { id: newRunId(), trigger: "test", modelVersion: "v", accounts: 0, scored: 1, tierChanges: 1, startedAt: new Date().toISOString() });
    const now = await (await call("GET", "/v1/portfolio", { key })).json<Portfolio>();
    expect(now.previous).not.toBeNull();
    expect(now.tiers.red.accounts).toBe(now.previous!.tiers.red.accounts + 1);
    expect(now.change!.tiers.red).toEqual({ accounts: 1, arr: 50_000 });
    expect(now.summary).toMatch(new RegExp(`^${now.tiers.red.accounts} accounts, \\$[0-9.]+[KM]? ARR in red, up from ${now.previous!.tiers.red.accounts}`));
  });
});
