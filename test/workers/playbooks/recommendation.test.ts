/**
 * GET /v1/accounts/{id}/recommendation in workerd with real D1, on the SaaS fixture model (its
 * columns include logins_30d and tickets_90d): the most specific playbook with its reasons, the
 * draft in the account's own words and figures (its logins compared with a month earlier), steps
 * due from today, actBy from the playbook's lead days, green and never-scored accounts, the control
 * group, lazy assignment that is deterministic and never changes, and the adoption count.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addDays } from "../../../shared/days";
import { publishArtifact } from "../../../shared/db/registry";
import { loadAccount } from "../../../workers/accounts/store";
import { holdoutDraw, holdoutSalt } from "../../../workers/playbooks/holdout";
import { recommendationsFor } from "../../../workers/playbooks/recommendation";
import type { Recommendation } from "../../../workers/playbooks/schemas";
import { call, createKey, problemOf } from "../helpers";

const today = new Date().toISOString().slice(0, 10);
const period = today.slice(0, 7);
const OWNER = "dana@cs.example";
const base = { plan: "starter", seats: 10, logins_30d: 20, tickets_90d: 1, nps: 7, is_trial: "no", region: "NA" };
/** Red, its top driver logins; red with tickets on top; yellow driven by logins; green; blue (SaaS fixture model). */
const RED_LOGINS = { ...base, logins_30d: 2 };
const RED_TICKETS = { ...base, tickets_90d: 12 };
const YELLOW_LOGINS = { ...base, plan: "team", seats: 19, logins_30d: 4, nps: 8 };
const GREEN = { ...base, plan: "team", seats: 19, logins_30d: 21, nps: 9 };
const BLUE = { ...base, plan: "team", seats: 30, logins_30d: 28, tickets_90d: 0, nps: 10 };

let reader: string;
let admin: string;
let salt: string;
/** Account ids, each chosen so the holdout puts it in the arm the test needs. */
const id: Record<string, string> = {};

/** The first `${prefix}-n` whose draw for (tier, this month) lands in `arm` at the default 10%. */
async function idIn(prefix: string, tier: "red" | "yellow" | "blue", arm: "treated" | "control"): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = `${prefix}-${n}`;
    if (((await holdoutDraw(salt, candidate, tier, period)) < 0.1) === (arm === "control")) return candidate;
  }
}

async function put(accountId: string, features: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const res = await call("PUT", `/v1/accounts/${accountId}`, { key: admin, body: { owner: OWNER, features, ...extra } });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function recommendation(accountId: string): Promise<Recommendation> {
  const res = await call("GET", `/v1/accounts/${accountId}/recommendation`, { key: reader });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Recommendation>();
}

async function storedArm(accountId: string) {
  return env.DB.prepare("SELECT * FROM holdout_assignments WHERE account_id = ?1").bind(accountId).all();
}

beforeAll(async () => {
  await publishArtifact(env, new TextEncoder().encode(env.TEST_SAAS_MODEL), { activate: true });
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
  salt = await holdoutSalt(env);
  id.redLogins = await idIn("REC-RL", "red", "treated");
  id.redTickets = await idIn("REC-RT", "red", "treated");
  id.yellow = await idIn("REC-YL", "yellow", "treated");
  id.blue = await idIn("REC-BL", "blue", "treated");
  id.control = await idIn("REC-CT", "red", "control");
  id.green = "REC-GREEN";
  // A month ago this account logged in 22 days out of 30; now 2.
  await put(id.redLogins, { ...RED_LOGINS, logins_30d: 22 }, { name: "Northwind Traders", arr: 120_000, renewalDate: addDays(today, 60), asOf: addDays(today, -30) });
  await put(id.redLogins, RED_LOGINS);
  await put(id.redTickets, RED_TICKETS, { name: "Contoso" });
  await put(id.yellow, YELLOW_LOGINS, { name: "Fabrikam", renewalDate: addDays(today, 40) });
  await put(id.green, GREEN, { name: "Greenfield" });
  await put(id.blue, BLUE, { name: "Bluebird" });
  await put(id.control, RED_LOGINS, { name: "Held Out Inc" });
  await put("REC-NEVER", GREEN);
  const rows = [id.redLogins, id.redTickets, id.yellow, id.green, id.blue, id.control].map((accountId) => ({ accountId }));
  expect((await call("POST", "/v1/score/batch?drivers=10", { key: admin, body: { rows } })).status).toBe(200);
});

describe("GET /v1/accounts/{id}/recommendation", () => {
  it("gives a red account its playbook, steps due from today, actBy and a draft in its own words", async () => {
    const r = await recommendation(id.redLogins);
    expect(r).toMatchObject({ accountId: id.redLogins, tier: "red", playbook: { id: "red-rescue", version: 1, name: "Executive rescue", tier: "red" }, actBy: today, controlGroup: false, holdout: { arm: "treated", tier: "red", period } });
    expect(r.reasons[0]).toBe('red, and its top driver is logins (logins fell from 22 to 2 a month): "Executive rescue" is the playbook for red accounts; none targets its top driver, logins');
    expect(r.reasons.at(-1)).toMatch(new RegExp(`^act by ${today}: already red \\(health \\d+\\): act now$`));
    expect(r.steps).toEqual([
      { title: expect.stringContaining("Book an executive business review"), dueDate: addDays(today, 1) },
      { title: expect.stringContaining("Interview"), dueDate: addDays(today, 4) },
      { title: "Hold the executive business review", dueDate: addDays(today, 6) },
      { title: expect.stringContaining("success plan"), dueDate: addDays(today, 10) },
      { title: expect.stringContaining("success plan's first milestones"), dueDate: addDays(today, 30) },
    ]);
    expect(r.draft!.subject).toBe("Northwind Traders: an executive review of how things are going");
    expect(r.draft!.body).toContain("Hi Northwind Traders team,");
    expect(r.draft!.body).toContain("- logins fell from 22 to 2 a month");
    expect(r.draft!.body).toContain(`With your renewal on ${addDays(today, 60)}`);
    expect(r.draft!.body.endsWith(`Best regards,\n${OWNER}`)).toBe(true);
    expect(`${r.draft!.subject}\n${r.draft!.body}`).not.toMatch(/undefined|null|\{\{|\}\}/);
  });

  it("prefers the driver-specific playbook: red with tickets on top gets the support escalation, yellow with logins the re-onboarding", async () => {
    const tickets = await recommendation(id.redTickets);
    expect(tickets.playbook).toMatchObject({ id: "red-tickets", driver: "tickets" });
    expect(tickets.reasons[0]).toMatch(/^red, and its top driver is tickets \(support tickets at 12 a quarter\): "Support escalation" is the red playbook for tickets, chosen over the playbook for every red account, "Executive rescue"$/);
    // No renewal date and no history: the draft leaves the renewal sentence out rather than printing a gap.
    expect(tickets.draft!.body).not.toContain("renewal");
    expect(tickets.draft!.body).toContain("Hi Contoso team,");
    const yellow = await recommendation(id.yellow);
    expect(yellow).toMatchObject({ tier: "yellow", playbook: { id: "yellow-logins" }, actBy: addDays(today, 26) });
    expect(yellow.draft!.body).toContain("(logins at 4 a month)");
  });

  it("gives blue accounts the expansion playbook and green ones none, saying why", async () => {
    expect((await recommendation(id.blue)).playbook).toMatchObject({ id: "blue-expand", tier: "blue" });
    const green = await recommendation(id.green);
    expect(green).toMatchObject({ tier: "green", playbook: null, steps: [], draft: null, controlGroup: false, holdout: null });
    expect(green.reasons[0]).toMatch(/^green: no playbook applies to green accounts/);
    expect((await storedArm(id.green)).results).toEqual([]);
  });

  it("holds the control group out: no playbook, steps or draft, and until when", async () => {
    const r = await recommendation(id.control);
    const [row] = (await storedArm(id.control)).results as { arm: string; assigned_at: string; window_days: number; tier: string }[];
    expect(row).toMatchObject({ arm: "control", tier: "red", window_days: 90 });
    const until = addDays(row.assigned_at, 90);
    expect(r).toEqual({ accountId: id.control, tier: "red", playbook: null, actBy: null, reasons: [expect.stringContaining(`no playbook is shown until ${until}`)], steps: [], draft: null, controlGroup: true, holdout: { arm: "control", tier: "red", period, assignedAt: row.assigned_at, until } });
    expect(r.reasons[0]).toMatch(/^held out: Held Out Inc is in the control group of the randomized holdout since \d{4}-\d{2}-\d{2}/);
  });

  it("assigns on the first look, deterministically, and never changes the row, whatever HOLDOUT_SHARE says later", async () => {
    const [first] = (await storedArm(id.redLogins)).results as { arm: string; playbook_id: string; score_id: number; churn_probability: number }[];
    expect(first).toMatchObject({ arm: "treated", playbook_id: "red-rescue" });
    const account = (await loadAccount(env, id.redLogins))!;
    expect(first.score_id).toBe(account.scoreId);
    expect(first.churn_probability).toBe(account.churnProbability);
    // With every entering account now held out, the stored assignment still stands ...
    const everyone = { ...env, HOLDOUT_SHARE: "1" } as unknown as Env;
    const [again] = await recommendationsFor(everyone, [account], today);
    expect(again).toMatchObject({ controlGroup: false, playbook: { id: "red-rescue" }, holdout: { arm: "treated" } });
    expect((await storedArm(id.redLogins)).results).toEqual([first]);
    // ... while an account assigned for the first time under it is held out.
    await put("REC-NEW", RED_LOGINS);
    expect((await call("POST", "/v1/score", { key: admin, body: { accountId: "REC-NEW" } })).status).toBe(200);
    const [fresh] = await recommendationsFor(everyone, [(await loadAccount(env, "REC-NEW"))!], today);
    expect(fresh.controlGroup).toBe(true);
  });

  it("answers many accounts at once exactly as the route does (the worklist's call)", async () => {
    const rows = await Promise.all([id.redLogins, id.green, id.control, "REC-NEVER"].map(async (x) => (await loadAccount(env, x))!));
    const many = await recommendationsFor(env, rows, today);
    expect(many.slice(0, 3)).toEqual([await recommendation(id.redLogins), await recommendation(id.green), await recommendation(id.control)]);
    expect(many[3]).toMatchObject({ accountId: "REC-NEVER", tier: null, playbook: null, reasons: [expect.stringMatching(/^not scored yet/)] });
  });

  it("counts each view towards its owner's adoption", async () => {
    const count = async () => (await env.DB.prepare("SELECT coalesce(sum(count), 0) AS n FROM owner_usage WHERE owner = ?1 AND action = 'recommendation'").bind(OWNER).first<{ n: number }>())!.n;
    const before = await count();
    await recommendation(id.green);
    await recommendation(id.redTickets);
    expect(await count()).toBe(before + 2);
  });

  it("is 409 for an account never scored, 404 for an unknown one, 422 for a malformed id, and needs a key", async () => {
    const never = await call("GET", "/v1/accounts/REC-NEVER/recommendation", { key: reader });
    expect(never.status).toBe(409);
    expect((await problemOf(never)).errors).toEqual([{ field: "id", detail: "never scored" }]);
    const unknown = await call("GET", "/v1/accounts/REC-NOPE/recommendation", { key: reader });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).errors![0].field).toBe("id");
    const bad = await call("GET", "/v1/accounts/not%20an%20id/recommendation", { key: reader });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors![0].field).toBe("params.id");
    expect((await call("GET", `/v1/accounts/${id.green}/recommendation`)).status).toBe(401);
    expect((await call("GET", `/v1/accounts/${id.green}/recommendation`, { key: await createKey(["banner"]) })).status).toBe(403);
  });

  it("takes actBy from the playbook's lead days, here and in the trajectory, after an edit", async () => {
    expect((await call("PATCH", "/v1/playbooks/yellow-logins", { key: admin, body: { leadDays: 30 } })).status).toBe(200);
    const r = await recommendation(id.yellow);
    expect(r).toMatchObject({ playbook: { id: "yellow-logins", version: 2 }, actBy: addDays(today, 10) });
    expect(r.reasons.at(-1)).toBe(`act by ${addDays(today, 10)}: renewal on ${addDays(today, 40)} leaves 30 days of lead time`);
    const t = await (await call("GET", `/v1/accounts/${id.yellow}/trajectory`, { key: reader })).json<{ actBy: string }>();
    expect(t.actBy).toBe(addDays(today, 10));
  });
});
