/**
 * The SaaS demo's simulated CS team (training/demo/saas-cs.ts): accounts entering a playbook tier
 * are assigned with the product's own holdout draw (recomputed here with shared/cs/holdout.ts),
 * treated ones get an intervention and control ones none, and the playbooks have a true effect the
 * generator can state. Loaded into a throwaway local stack by the same code as `npm start -- --demo
 * saas`, `GET /v1/impact` (its `impactReport`) measures that effect on closed windows, and
 * `GET /v1/adoption` (its `adoptionAsOf`) sees the simulated owners. Synthetic data, not real customers.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { armOfDraw, heldUntil, holdoutDraw, periodOf, standing } from "../../shared/cs/holdout";
import { addDays } from "../../shared/days";
import { activeModelRow, fetchArtifact } from "../../shared/db/registry";
import { Scorer } from "../../shared/model/scorer";
import { type Log, prepareDemo, saasDemo } from "../../training/demo/demos";
import { generateSaasPortfolio, type SaasPortfolio } from "../../training/demo/saas";
import { HOLDOUT_WINDOW_DAYS } from "../../training/demo/saas-cs";
import { isWeekend } from "../../training/demo/saas-draws";
import { fillSaasPlaybookScores, loadSaasPlaybooks, regenerateSaasPortfolio } from "../../training/demo/saas-load-playbooks";
import { churnedWithin, saasRates, saasTrueEffect, windowClosed } from "../../training/demo/saas-stats";
import { type LocalPlatform, openLocalPlatform } from "../../training/platform";
import { adoptionAsOf } from "../../workers/adoption/adoption";
import { adoptionReport } from "../../workers/adoption/policy";
import { impactReport } from "../../workers/impact/report";
import { DEFAULT_PLAYBOOKS } from "../../shared/cs/default-playbooks";
import { armFor, holdoutSalt } from "../../workers/playbooks/holdout";

const TODAY = "2026-06-01";
const portfolio = generateSaasPortfolio({ seed: 7, today: TODAY });
const assignments = portfolio.accounts.flatMap((a) => a.assignments.map((h) => ({ account: a, h })));

describe("the SaaS demo's CS team and holdout (generator)", () => {
  it("assigns accounts entering a playbook tier with the product's draw, period and standing rules", async () => {
    expect(assignments.length).toBeGreaterThan(2500);
    // Every 15th assignment, recomputed with the product's own (WebCrypto) draw.
    for (const { account, h } of assignments.filter((_, i) => i % 15 === 0)) {
      expect(h.period).toBe(periodOf(h.assignedAt));
      expect(h.arm).toBe(armOfDraw(await holdoutDraw(portfolio.salt, account.id, h.tier, h.period), 0.1));
    }
    // About 10% control: within 3.5 standard deviations of the binomial.
    const control = assignments.filter((x) => x.h.arm === "control").length / assignments.length;
    expect(Math.abs(control - 0.1)).toBeLessThan(3.5 * Math.sqrt((0.1 * 0.9) / assignments.length));
    for (const { account, h } of assignments) {
      // An entry: the CS team saw the account in the tier that week and in another the week before.
      const week = account.snapshots.findIndex((s) => s.asOf === h.assignedAt.slice(0, 10));
      expect(account.snapshots[week].csTier, `${account.id} ${h.assignedAt}`).toBe(h.tier);
      if (week > 0) expect(account.snapshots[week - 1].csTier).not.toBe(h.tier);
      // Made only when the product's standing says "unassigned", given the assignments before it.
      const before = account.assignments.filter((x) => x.assignedAt < h.assignedAt);
      expect(standing(before, h.tier, h.assignedAt.slice(0, 10)).state).toBe("unassigned");
      expect(h).toMatchObject({ owner: account.owner, windowDays: HOLDOUT_WINDOW_DAYS, playbookVersion: 1 });
      expect(DEFAULT_PLAYBOOKS.find((p) => p.id === h.playbookId)?.tier).toBe(h.tier);
    }
    expect(new Set(assignments.map((x) => x.h.playbookId))).toEqual(new Set(DEFAULT_PLAYBOOKS.map((p) => p.id)));
  });

  it("gives each treated assignment one intervention from its playbook, run by the owner; control ones none", () => {
    for (const account of portfolio.accounts) {
      // Treated: one intervention each, unless the account churned within days, before its CSM started one.
      const treated = account.assignments.filter((h) => h.arm === "treated");
      const missing = treated.filter((h) => !account.interventions.some((iv) => iv.tier === h.tier && iv.period === h.period));
      for (const h of missing) expect(h === treated.at(-1) && account.churnedOn !== null && account.churnedOn < addDays(h.assignedAt, 7), `${account.id} ${h.assignedAt}`).toBe(true);
      const started = treated.filter((h) => !missing.includes(h));
      expect(account.interventions.map((iv) => `${iv.tier} ${iv.period} ${iv.playbookId}`)).toEqual(started.map((h) => `${h.tier} ${h.period} ${h.playbookId}`));
      for (const [i, iv] of account.interventions.entries()) {
        const day = iv.startedAt.slice(0, 10);
        expect(day >= started[i].assignedAt.slice(0, 10) && day <= addDays(started[i].assignedAt, 6) && day <= TODAY, iv.id).toBe(true);
        expect(iv.owner).toBe(account.owner);
        expect(iv.id).toMatch(/^iv_[0-9a-f]{24}$/);
        const steps = DEFAULT_PLAYBOOKS.find((p) => p.id === iv.playbookId)!.steps.length;
        for (const s of iv.stepsDone) expect(s.step < steps && s.doneAt >= iv.startedAt && s.doneAt.slice(0, 10) <= TODAY && !isWeekend(s.doneAt)).toBe(true);
        if (iv.status === "completed") expect(iv.result !== null && iv.closedAt! >= iv.startedAt).toBe(true);
        else expect(iv.result).toBeNull();
        if (iv.result === "churned") expect(account.churnedOn).toBe(iv.closedAt!.slice(0, 10));
      }
      for (const h of account.assignments.filter((x) => x.arm === "control")) {
        const inWindow = account.interventions.filter((iv) => iv.startedAt >= h.assignedAt && iv.startedAt.slice(0, 10) < heldUntil(h));
        expect(inWindow, `${account.id} control ${h.assignedAt}`).toEqual([]);
      }
    }
    const all = portfolio.accounts.flatMap((a) => a.interventions);
    // The CS team acts on last week's snapshots at the latest: nothing it records is stamped after today began.
    const stamps = [...assignments.map((x) => x.h.assignedAt), ...all.flatMap((iv) => [iv.startedAt, iv.updatedAt, ...(iv.closedAt ? [iv.closedAt] : []), ...iv.stepsDone.map((s) => s.doneAt)])];
    expect(stamps.filter((t) => t > `${TODAY}T00:00:00.000Z`)).toEqual([]);
    expect(all.filter((iv) => iv.status === "open").length).toBeGreaterThan(0);
    expect(new Set(all.map((iv) => iv.result))).toEqual(new Set(["retained", "expanded", "churned", "no_change", null]));
  });

  it("has a true effect: each closed assignment replayed with the other arm, red playbooks cut 90-day churn by about a quarter", () => {
    const truth = saasTrueEffect(portfolio);
    for (const [tier, b] of Object.entries(truth)) {
      // The observed arms are the replay's own outcomes for the assignments in that arm.
      expect(b.observed.treated.accounts + b.observed.control.accounts, tier).toBe(b.assignments);
    }
    expect(truth.red.ifControl.churnRate!).toBeGreaterThan(0.07);
    expect(truth.red.trueRelative!).toBeGreaterThan(0.1);
    expect(truth.red.trueRelative!).toBeLessThan(0.45);
    expect(truth.yellow.trueUplift!).toBeGreaterThan(0);
    expect(Math.abs(truth.blue.trueUplift!)).toBeLessThan(0.01); // the expansion playbook does not move churn
    expect(truth.all.trueUplift!).toBeGreaterThan(0);
    // The whole portfolio: with every entering account held out, more accounts churn than with none.
    const none = saasRates(generateSaasPortfolio({ seed: 7, today: TODAY, holdoutShare: 1 }));
    const every = saasRates(generateSaasPortfolio({ seed: 7, today: TODAY, holdoutShare: 0 }));
    expect(none.churned - every.churned).toBeGreaterThan(0.005);
    expect(every.recovered).toBeGreaterThan(none.recovered);
  });

  it("has CSMs give feedback on past weekly scores, and most owners use the product on 4–5 workdays a week", () => {
    const feedback = portfolio.accounts.flatMap((a) => a.feedback.map((f) => ({ a, f })));
    expect(feedback.length).toBeGreaterThan(600);
    for (const { a, f } of feedback) {
      expect(a.snapshots.some((s) => s.asOf === f.scoredOn)).toBe(true);
      expect(f.scoredOn < TODAY && f.createdAt > `${f.scoredOn}T12:00` && f.createdAt < addDays(f.scoredOn, 7) && f.csmRisk >= 0 && f.csmRisk <= 1).toBe(true);
    }
    const owners = new Set(portfolio.accounts.map((a) => a.owner));
    expect(new Set(portfolio.usage.map((u) => u.owner))).toEqual(owners);
    const weeks = [0, 1, 2, 3, 4, 5].map((w) => addDays(TODAY, -7 * w));
    const activeDays = [...owners].map((owner) => weeks.map((asOf) => adoptionReport(asOf, new Map([[owner, 1]]), portfolio.usage.filter((u) => u.owner === owner), new Map()).owners[0].activeDays));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const regular = activeDays.filter((d) => mean(d) >= 4);
    expect(regular.length).toBe(owners.size - 2);
    for (const d of activeDays.filter((x) => mean(x) < 4)) expect(mean(d)).toBeLessThan(3.5);
  });
});

describe("loaded into a throwaway local stack (as npm start -- --demo saas)", () => {
  // A third of the demo, as demo-saas.test.ts loads, to stay well within two minutes.
  const ACCOUNTS = 1000;
  const root = path.resolve(import.meta.dirname, "../..");
  let platform: LocalPlatform | undefined;
  afterAll(async () => {
    await platform?.dispose();
  });

  it("writes the holdout, interventions, feedback and usage the Worker reads; GET /v1/impact and /v1/adoption report on them", async () => {
    const state = mkdtempSync(path.join(tmpdir(), "foresight-demo-playbooks-"));
    execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
    process.env.FORESIGHT_STATE_DIR = state;
    platform = await openLocalPlatform();
    const { env } = platform;
    const lines: string[] = [];
    const log: Log = { step: (t) => lines.push(`› ${t}`), info: (t) => lines.push(`  ${t}`) };
    const today = new Date().toISOString().slice(0, 10);
    await prepareDemo(env, saasDemo(ACCOUNTS), { modelsDir: path.join(state, "models"), log });
    console.log(`[demo-saas-playbooks]\n${lines.join("\n")}`);
    const p: SaasPortfolio = generateSaasPortfolio({ accounts: ACCOUNTS, today });
    const all = <T>(sql: string) => env.DB.prepare(sql).all<T>().then((r) => r.results);
    const generated = p.accounts.flatMap((a) => a.assignments.map((h) => ({ a, h })));

    // The Worker reads the demo's salt and, drawing afresh, lands on the arms the demo recorded.
    expect(await holdoutSalt(env)).toBe(p.salt);
    const stored = await all<{ account_id: string; tier: "red" | "yellow" | "blue"; period: string; arm: string; churn_probability: number | null; score_p: number | null }>(
      `SELECT h.account_id, h.tier, h.period, h.arm, h.churn_probability, s.churn_probability AS score_p
       FROM holdout_assignments h LEFT JOIN scores s ON s.id = h.score_id ORDER BY h.account_id, h.assigned_at`,
    );
    expect(stored.length).toBe(generated.length);
    for (const r of stored.filter((_, i) => i % 10 === 0)) expect(await armFor(p.salt, r.account_id, r.tier, r.period, 0.1)).toBe(r.arm);
    // The churn probability at entry is the demo model's score of that week's snapshot.
    expect(stored.filter((r) => r.churn_probability === null)).toEqual([]);
    expect(stored.filter((r) => r.score_p !== null && r.score_p !== r.churn_probability)).toEqual([]);
    expect(stored.filter((r) => r.score_p !== null).length).toBeGreaterThan(0.99 * stored.length);
    const ivs = await all<{ n: number; control: number }>(
      `SELECT count(*) AS n, sum(EXISTS (SELECT 1 FROM holdout_assignments h WHERE h.account_id = i.account_id AND h.arm = 'control'
         AND i.started_at >= h.assigned_at AND i.started_at < date(h.assigned_at, '+' || h.window_days || ' days'))) AS control FROM interventions i`,
    );
    expect(ivs[0]).toEqual({ n: p.accounts.reduce((n, a) => n + a.interventions.length, 0), control: 0 });
    // Interventions read back through the playbook versions they ran (the defaults, version 1).
    expect((await all<{ n: number }>("SELECT count(*) AS n FROM interventions i JOIN playbooks b ON b.id = i.playbook_id AND b.version = i.playbook_version"))[0].n).toBe(ivs[0].n);
    const verdicts = await all<{ verdict: string; n: number }>("SELECT verdict, count(*) AS n FROM feedback WHERE score_id IS NOT NULL GROUP BY verdict ORDER BY verdict");
    const agree = verdicts.find((v) => v.verdict === "agree")!.n;
    const disagree = verdicts.find((v) => v.verdict === "disagree")!.n;
    expect(agree / (agree + disagree)).toBeGreaterThan(0.6);
    expect(disagree).toBeGreaterThan(10);

    // GET /v1/impact over the year: both arms, closed windows only, counted as the generator says.
    const report = await impactReport(env, { from: addDays(today, -400), to: today });
    const closed = generated.filter(({ h }) => windowClosed(h, today));
    const arm = (name: string) => closed.filter(({ h }) => h.arm === name);
    expect(report.treated.accounts).toBe(arm("treated").length);
    expect(report.control.accounts).toBe(arm("control").length);
    expect(report.control.accounts).toBeGreaterThan(50);
    expect(report.treated.churned).toBe(arm("treated").filter(({ a, h }) => churnedWithin(a, h)).length);
    expect(report.control.churned).toBe(arm("control").filter(({ a, h }) => churnedWithin(a, h)).length);
    expect(report.pendingAccounts).toBe(generated.length - closed.length);
    const truth = saasTrueEffect(p).all;
    const measured = { treated: report.treated, control: report.control, method: report.method, uplift: report.uplift, relativeImprovement: report.relativeImprovement, power: report.power.note, summary: report.summary };
    console.log(`[demo-saas-playbooks] impact on ${ACCOUNTS} accounts: ${JSON.stringify(measured)}\ntrue effect: ${JSON.stringify(truth)}`);
    if (report.uplift.estimate === null) expect(report.reasons.length).toBeGreaterThan(0);
    else {
      // Consistent with the truth: within the 95% interval widened by half (about 3 standard errors).
      const [lo, hi] = report.uplift.ci95!;
      const slack = (hi - lo) / 4;
      expect(truth.trueUplift!).toBeGreaterThan(lo - slack);
      expect(truth.trueUplift!).toBeLessThan(hi + slack);
      if (lo <= 0) expect(report.summary).toMatch(/not yet distinguishable from zero/);
    }

    // GET /v1/adoption: the simulated owners, most of them active.
    const adoption = await adoptionAsOf(env, today);
    expect(adoption.owners.map((o) => o.owner)).toEqual([...new Set(p.accounts.map((a) => a.owner))].sort());
    expect(adoption.share).toBeGreaterThan(0);
    expect(adoption.share).toBeLessThan(1);

    // Loading again (and filling again) gives the same rows.
    const tables = ["settings", "holdout_assignments", "interventions", "feedback", "owner_usage", "playbooks"];
    const snapshot = async () => Promise.all(tables.map((t) => all(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).then((rows) => JSON.stringify(rows))));
    const before = await snapshot();
    const again = await regenerateSaasPortfolio(env.DB);
    expect(again.salt).toBe(p.salt);
    await loadSaasPlaybooks(env.DB, again);
    const churn = new Scorer(await fetchArtifact(env, (await activeModelRow(env.DB))!));
    await fillSaasPlaybookScores(env.DB, again, { churn });
    expect(await snapshot()).toEqual(before);
  }, 240_000);
});
