/**
 * Adoption inside workerd with real local D1: the share of owners who used predictive insights on at
 * least 4 of the last 5 workdays, on constructed `owner_usage` rows (4 of 5 counts, 3 does not,
 * weekends are skipped), and the guarded use counter that counts nothing when its write lost a race.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { accounts, ownerUsage, type UsageAction } from "../../../shared/db/schema";
import { db, toD1 } from "../../../shared/db/write";
import type { Adoption } from "../../../workers/adoption/schemas";
import { countUseIfChangedStatement } from "../../../workers/adoption/usage";
import { call, createKey, problemOf } from "../helpers";

let key: string;

// Wednesday 2026-11-18: the last 5 workdays are Thu 12, Fri 13, Mon 16, Tue 17 and Wed 18 November.
const AS_OF = "2026-11-18";
const use = (owner: string, day: string, action: UsageAction, count = 1) => ({ owner, day, action, count });

beforeAll(async () => {
  key = await createKey(["ingest"]);
  const d = db(env.DB);
  await d.insert(accounts).values([
    { id: "AD-1", owner: "ann" },
    { id: "AD-2", owner: "ann" },
    { id: "AD-3", owner: "bob" },
    { id: "AD-4", owner: "cat" },
    { id: "AD-5", owner: null },
  ]);
  await d.insert(ownerUsage).values([
    // ann: 4 of the 5 workdays (not Friday): active.
    use("ann", "2026-11-12", "worklist", 3),
    use("ann", "2026-11-12", "recommendation", 2),
    use("ann", "2026-11-16", "worklist"),
    use("ann", "2026-11-17", "intervention"),
    use("ann", "2026-11-18", "feedback", 2),
    use("ann", "2026-11-11", "worklist", 9), // before the window
    // bob: 3 workdays plus the weekend between them: not active; his Thursday after asOf is not seen.
    use("bob", "2026-11-12", "worklist"),
    use("bob", "2026-11-13", "worklist"),
    use("bob", "2026-11-14", "recommendation"),
    use("bob", "2026-11-15", "recommendation"),
    use("bob", "2026-11-16", "worklist"),
    use("bob", "2026-11-19", "worklist"),
    // dee owns no account but used insights every workday: an owner, and active.
    ...["2026-11-12", "2026-11-13", "2026-11-16", "2026-11-17", "2026-11-18"].map((day) => use("dee", day, "recommendation")),
    // old used it once in January and owns nothing: not an owner any more.
    use("old", "2026-01-05", "worklist"),
  ]);
});

async function adoption(query = ""): Promise<Adoption> {
  const res = await call("GET", `/v1/adoption${query}`, { key });
  expect(res.status).toBe(200);
  return res.json<Adoption>();
}

describe("GET /v1/adoption", () => {
  it("gives the share of owners active on at least 4 of the last 5 workdays, with each owner's counts", async () => {
    const r = await adoption(`?asOf=${AS_OF}`);
    expect(r.workdays).toEqual(["2026-11-12", "2026-11-13", "2026-11-16", "2026-11-17", "2026-11-18"]);
    expect(r.owners.map((o) => o.owner)).toEqual(["ann", "bob", "cat", "dee"]);
    expect(r).toMatchObject({ asOf: AS_OF, minActiveDays: 4, share: 0.5, activeOwners: 2, ownerCount: 4 });
    expect(r.summary).toBe("2 of 4 owners (50%) used predictive insights on at least 4 of the last 5 workdays (2026-11-12 to 2026-11-18); the target is more than 80%.");
    const [ann, bob, cat, dee] = r.owners;
    expect(ann).toEqual({
      owner: "ann",
      accounts: 2,
      activeDays: 4,
      active: true,
      activeOn: ["2026-11-12", "2026-11-16", "2026-11-17", "2026-11-18"],
      counts: { worklist: 4, recommendation: 2, intervention: 1, feedback: 2 },
      total: 9,
      lastActiveDay: "2026-11-18",
    });
    expect(bob).toMatchObject({ accounts: 1, activeDays: 3, active: false, activeOn: ["2026-11-12", "2026-11-13", "2026-11-16"], counts: { worklist: 3, recommendation: 0 }, lastActiveDay: "2026-11-16" });
    expect(cat).toMatchObject({ accounts: 1, activeDays: 0, active: false, activeOn: [], total: 0, lastActiveDay: null });
    expect(dee).toMatchObject({ accounts: 0, activeDays: 5, active: true, counts: { recommendation: 5 } });
  });

  it("skips weekends: on a Sunday the window is the week before, and weekend use counts for the last active day only", async () => {
    const r = await adoption("?asOf=2026-11-15");
    expect(r.workdays).toEqual(["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"]);
    const bob = r.owners.find((o) => o.owner === "bob")!;
    expect(bob).toMatchObject({ activeDays: 2, lastActiveDay: "2026-11-15", counts: { worklist: 2, recommendation: 0 } });
    // Only dee (12, 13) and ann (11, 12) besides bob used it that week; nobody reached 4 days.
    expect(r).toMatchObject({ share: 0, activeOwners: 0, ownerCount: 4 });
  });

  it("refuses a malformed asOf, naming it", async () => {
    const res = await call("GET", "/v1/adoption?asOf=18-11-2026", { key });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors!.map((e) => e.field).join()).toContain("asOf");
  });
});

describe("countUseIfChangedStatement", () => {
  it("counts a use only when the write before it in the batch changed a row", async () => {
    const d = db(env.DB);
    const uses = async () => (await env.DB.prepare("SELECT coalesce(sum(count), 0) AS n FROM owner_usage WHERE owner = 'race' AND day = '2025-01-06'").first<{ n: number }>())!.n;
    const touch = (id: string) => d.update(accounts).set({ name: "touched" }).where(eq(accounts.id, id));
    await env.DB.batch([...toD1(env.DB, [touch("NO-SUCH-ACCOUNT")]), countUseIfChangedStatement(env.DB, "race", "intervention", "2025-01-06")]);
    expect(await uses()).toBe(0);
    await env.DB.batch([...toD1(env.DB, [touch("AD-5")]), countUseIfChangedStatement(env.DB, "race", "intervention", "2025-01-06")]);
    await env.DB.batch([...toD1(env.DB, [touch("AD-5")]), countUseIfChangedStatement(env.DB, "race", "intervention", "2025-01-06")]);
    expect(await uses()).toBe(2);
  });
});
