/**
 * The randomized holdout in rescoring, through the real queue and D1: accounts that a run moves
 * into red are assigned once (about 10% to control, each arm the salted hash's), in the batch with
 * their scores; treated ones get `account.playbook_recommended`, control ones nothing; the
 * playbook's lead days set actBy; and the stored assignments never change when accounts leave and
 * re-enter the tier.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { RescoreStarted } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { armFor } from "../../../workers/playbooks/holdout";
import type { Recommendation } from "../../../workers/playbooks/schemas";
import { call, createKey, loyalCustomer, publishTelcoModel, riskyCustomer, waitForRun } from "../helpers";

const N = 1000;
const ids = Array.from({ length: N }, (_, i) => `PB-${String(i).padStart(4, "0")}`);
const today = new Date().toISOString().slice(0, 10);
const yellowCustomer = { ...riskyCustomer, tenure: 12, TotalCharges: 1100 };
let admin: string;

interface AssignmentRow {
  account_id: string;
  tier: string;
  period: string;
  arm: "treated" | "control";
  playbook_id: string;
  playbook_version: number;
  owner: string | null;
  arr: number | null;
  churn_probability: number;
  score_id: number;
  window_days: number;
  assigned_at: string;
}

async function upsert(features: Record<string, unknown>) {
  const res = await call("POST", "/v1/accounts/batch", { key: admin, body: { accounts: ids.map((id, i) => ({ id, arr: 1000 + i, owner: `csm-${i % 5}@cs.example`, features })) } });
  expect(res.status).toBe(200);
}

async function rescore(): Promise<string> {
  const started = await (await call("POST", "/v1/rescore", { key: admin })).json<RescoreStarted>();
  expect((await waitForRun(admin, started.runId, 60_000)).status).toBe("completed");
  return started.runId;
}

async function assignments(): Promise<AssignmentRow[]> {
  return (await env.DB.prepare("SELECT * FROM holdout_assignments ORDER BY account_id, tier, period").all<AssignmentRow>()).results;
}

async function recommended(runId: string): Promise<{ account_id: string; payload: string }[]> {
  return (await env.DB.prepare("SELECT account_id, payload FROM events WHERE run_id = ?1 AND type = 'account.playbook_recommended' ORDER BY account_id").bind(runId).all<{ account_id: string; payload: string }>()).results;
}

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  await upsert(loyalCustomer);
  expect((await call("PUT", "/v1/accounts/PB-YELLOW", { key: admin, body: { name: "Yellow Co", renewalDate: addDays(today, 30), features: loyalCustomer } })).status).toBe(200);
  expect((await call("POST", "/v1/score/batch", { key: admin, body: { rows: ids.map((accountId) => ({ accountId })) } })).status).toBe(200);
  expect((await call("POST", "/v1/score", { key: admin, body: { accountId: "PB-YELLOW" } })).status).toBe(200);
}, 60_000);

describe("a rescoring run that moves accounts into a playbook tier", () => {
  let runId: string;
  let stored: AssignmentRow[];

  beforeAll(async () => {
    // Yellow accounts get 21 days of lead time from their playbook instead of ACT_BY_LEAD_DAYS (14).
    expect((await call("PATCH", "/v1/playbooks/yellow-engage", { key: admin, body: { leadDays: 21 } })).status).toBe(200);
    await upsert(riskyCustomer);
    expect((await call("PATCH", "/v1/accounts/PB-YELLOW", { key: admin, body: { features: yellowCustomer } })).status).toBe(200);
    runId = await rescore();
    stored = await assignments();
  }, 90_000);

  it("assigns every entering account once, about 10% to control, each arm the salted hash's", async () => {
    const red = stored.filter((a) => a.tier === "red");
    expect(red.map((a) => a.account_id)).toEqual(ids);
    const salt = (await env.DB.prepare("SELECT value FROM settings WHERE key = 'holdout.salt'").first<{ value: string }>())!.value;
    for (const a of red) expect(a.arm).toBe(await armFor(JSON.parse(salt) as string, a.account_id, "red", today.slice(0, 7), 0.1));
    // Binomial(1000, 0.1): mean 100, sd 9.5; ±4 sd.
    const control = red.filter((a) => a.arm === "control").length;
    expect(control).toBeGreaterThan(62);
    expect(control).toBeLessThan(138);
  });

  it("records the playbook, owner, ARR and the run's score with each assignment", async () => {
    const scores = new Map(
      (await env.DB.prepare("SELECT id, account_id, churn_probability FROM scores WHERE run_id = ?1").bind(runId).all<{ id: number; account_id: string; churn_probability: number }>()).results.map((s) => [s.account_id, s]),
    );
    for (const a of stored.filter((x) => x.tier === "red")) {
      const i = Number(a.account_id.slice(3));
      expect(a).toMatchObject({ period: today.slice(0, 7), playbook_id: "red-rescue", playbook_version: 1, owner: `csm-${i % 5}@cs.example`, arr: 1000 + i, window_days: 90 });
      expect(a.score_id).toBe(scores.get(a.account_id)!.id);
      expect(a.churn_probability).toBe(scores.get(a.account_id)!.churn_probability);
    }
  });

  it("sends account.playbook_recommended for treated accounts only, with the playbook, steps and actBy", async () => {
    const events = await recommended(runId);
    const treated = stored.filter((a) => a.arm === "treated").map((a) => a.account_id);
    expect(events.map((e) => e.account_id)).toEqual(treated);
    const control = new Set(stored.filter((a) => a.arm === "control").map((a) => a.account_id));
    expect(events.some((e) => control.has(e.account_id))).toBe(false);
    // Their tier changes still go out, marked as held out and without a next action.
    const changes = (
      await env.DB.prepare("SELECT account_id, payload FROM events WHERE run_id = ?1 AND type = 'account.risk_tier_changed'").bind(runId).all<{ account_id: string; payload: string }>()
    ).results.filter((e) => e.account_id.startsWith("PB-0"));
    expect(changes.length).toBe(ids.length);
    for (const e of changes) {
      const p = JSON.parse(e.payload) as { controlGroup: boolean; nextAction: string | null };
      expect(p.controlGroup, e.account_id).toBe(control.has(e.account_id));
      if (control.has(e.account_id)) expect(p.nextAction).toBeNull();
      else expect(p.nextAction!.length).toBeGreaterThan(5);
    }
    const first = JSON.parse(events.find((e) => e.account_id.startsWith("PB-0"))!.payload) as {
      account: { id: string; owner: string; arr: number };
      previousTier: string;
      tier: string;
      playbook: { id: string; version: number; name: string };
      actBy: string;
      steps: { title: string; dueDate: string }[];
      reasons: string[];
    };
    expect(first).toMatchObject({ previousTier: "green", tier: "red", playbook: { id: "red-rescue", version: 1, name: "Executive rescue" }, actBy: today });
    expect(first.steps[0]).toMatchObject({ title: expect.stringContaining("executive business review"), dueDate: addDays(today, 1) });
    expect(first.reasons[0]).toMatch(/^red, and its top driver is .+: "Executive rescue" is the playbook for red accounts/);
    expect(first.reasons.at(-1)).toMatch(new RegExp(`^act by ${today}: already red \\(health \\d+\\): act now$`));
  });

  it("times a yellow account's actBy with its playbook's lead days, in rescoring and in its trajectory", async () => {
    const yellow = stored.find((a) => a.account_id === "PB-YELLOW")!;
    expect(yellow).toMatchObject({ tier: "yellow", playbook_id: "yellow-engage", playbook_version: 2 });
    const score = await env.DB.prepare("SELECT act_by FROM scores WHERE run_id = ?1 AND account_id = 'PB-YELLOW'").bind(runId).first<{ act_by: string }>();
    expect(score!.act_by).toBe(addDays(today, 9));
    const t = await (await call("GET", "/v1/accounts/PB-YELLOW/trajectory", { key: admin })).json<{ actBy: string; reasons: string[] }>();
    expect(t.actBy).toBe(addDays(today, 9));
    expect(t.reasons[0]).toBe(`renewal on ${addDays(today, 30)} leaves 21 days of lead time`);
    const [event] = (await recommended(runId)).filter((e) => e.account_id === "PB-YELLOW");
    if (yellow.arm === "treated") expect(JSON.parse(event.payload)).toMatchObject({ actBy: addDays(today, 9), playbook: { id: "yellow-engage", version: 2 } });
    else expect(event).toBeUndefined();
  });

  it("shows the control group no recommendation and the treated arm its playbook", async () => {
    const control = stored.find((a) => a.arm === "control" && a.tier === "red")!;
    const treated = stored.find((a) => a.arm === "treated" && a.tier === "red")!;
    const held = await (await call("GET", `/v1/accounts/${control.account_id}/recommendation`, { key: admin })).json<Recommendation>();
    expect(held).toMatchObject({ controlGroup: true, playbook: null, steps: [], draft: null, holdout: { arm: "control", tier: "red", until: addDays(control.assigned_at, 90) } });
    expect(held.reasons[0]).toContain(`no playbook is shown until ${addDays(control.assigned_at, 90)}`);
    const shown = await (await call("GET", `/v1/accounts/${treated.account_id}/recommendation`, { key: admin })).json<Recommendation>();
    expect(shown).toMatchObject({ controlGroup: false, playbook: { id: "red-rescue", version: 1 }, holdout: { arm: "treated" } });
  });

  it("keeps every assignment as it was when accounts leave the tier and re-enter it in the same period", { timeout: 120_000 }, async () => {
    await upsert(loyalCustomer);
    const away = await rescore();
    expect(await recommended(away)).toEqual([]);
    await upsert(riskyCustomer);
    const back = await rescore();
    expect(await assignments()).toEqual(stored);
    // Re-entering treated accounts are told again; the control group still hears nothing.
    const events = await recommended(back);
    expect(events.map((e) => e.account_id)).toEqual(stored.filter((a) => a.arm === "treated" && a.tier === "red").map((a) => a.account_id));
  });
});
