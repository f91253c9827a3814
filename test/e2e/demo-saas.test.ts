/**
 * The synthetic SaaS demo (`npm start -- --demo saas`): its generator is deterministic, its
 * rates are plausible, its outcomes follow its dynamics and churned accounts stop reporting;
 * loaded into a throwaway local stack by the same code as `npm start`, D1 holds the accounts, a
 * year of weekly snapshots, the outcomes and a weekly score history per account.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chooseDemo, type Log, prepareDemo, saasDemo } from "../../training/demo/demos";
import { AT_RISK, generateSaasPortfolio, HEALTHY, type SaasAccount, WEEKS } from "../../training/demo/saas";
import { saasRates } from "../../training/demo/saas-stats";
import { trainingAsOfDays } from "../../training/demo/saas-load";
import { UsageError } from "../../training/errors";
import { type LocalPlatform, openLocalPlatform } from "../../training/platform";

const TODAY = "2026-06-01";
const portfolio = generateSaasPortfolio({ seed: 7, today: TODAY });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
/** Mean latent health over the 8 recorded weeks up to `day` (what the renewal decision reads). */
const healthBefore = (a: SaasAccount, day: string) => mean(a.snapshots.filter((s) => s.asOf <= day).slice(-8).map((s) => s.health));

describe("the SaaS demo generator", () => {
  it("is deterministic: the same seed and day give the same portfolio, another seed another", () => {
    expect(JSON.stringify(generateSaasPortfolio({ seed: 7, today: TODAY }))).toBe(JSON.stringify(portfolio));
    expect(generateSaasPortfolio({ seed: 8, today: TODAY, accounts: 50 }).accounts[0]).not.toEqual(portfolio.accounts[0]);
  });

  it("has 3,000 accounts with 52 weekly snapshots ending today, signals in range", () => {
    expect(portfolio.accounts).toHaveLength(3000);
    expect(portfolio.weeks).toHaveLength(WEEKS);
    expect(portfolio.weeks.at(-1)).toBe(TODAY);
    expect(portfolio.weeks[0]).toBe(addDays(TODAY, -7 * (WEEKS - 1)));
    expect(new Set(portfolio.accounts.map((a) => a.id)).size).toBe(3000);
    for (const a of portfolio.accounts) {
      if (!a.churnedOn) expect(a.snapshots.map((s) => s.asOf)).toEqual(portfolio.weeks);
      // One expect per account, not per signal: 150,000 snapshots would make this slow.
      const bad = a.snapshots.filter(({ signals: s }) => {
        const n = (k: string) => Number(s[k]);
        return !(n("logins_30d") >= 0 && n("logins_30d") <= 30 && n("feature_adoption") > 0 && n("feature_adoption") <= 1 && n("seats_used") >= 1 && n("seats_used") <= n("seats") && n("days_since_qbr") >= 0 && n("days_to_renewal") >= 0 && n("days_to_renewal") <= 365 && n("support_tickets_30d") >= 0 && n("meetings_90d") <= 13);
      });
      expect(bad, a.id).toEqual([]);
    }
    expect(new Set(portfolio.accounts.map((a) => a.segment))).toEqual(new Set(["SMB", "Mid-Market", "Enterprise"]));
    expect(new Set(portfolio.accounts.map((a) => a.owner)).size).toBeGreaterThanOrEqual(5);
  });

  it("churns, expands, drifts and recovers at plausible yearly rates, on every seed", () => {
    for (const p of [portfolio, generateSaasPortfolio({ seed: 99, today: TODAY })]) {
      const r = saasRates(p);
      // The simulated CS team's playbooks save some accounts: churn is about 1.5 points below the
      // 11.6–13.3% it would be without them (the true-effect test in demo-saas-playbooks.test.ts), so 9% is the floor.
      expect(r.churned).toBeGreaterThanOrEqual(0.09);
      expect(r.churned).toBeLessThanOrEqual(0.15);
      expect(r.churnedMidTerm).toBeGreaterThan(0);
      expect(r.churnedMidTerm).toBeLessThan(r.churned * 0.2);
      expect(r.expanded).toBeGreaterThanOrEqual(0.15);
      expect(r.expanded).toBeLessThanOrEqual(0.25);
      expect(r.drifted).toBeGreaterThanOrEqual(0.08);
      expect(r.drifted).toBeLessThanOrEqual(0.3);
      expect(r.recovered).toBeGreaterThanOrEqual(0.04);
      // Red playbooks pull at-risk accounts back, so recovering is now about as common as drifting.
      expect(r.recovered).toBeLessThan(r.drifted * 1.3);
      expect(r.renewed + r.churned).toBeGreaterThan(0.95); // nearly every contract comes up in the year
    }
  });

  it("stops an account's snapshots when it churns", () => {
    const churned = portfolio.accounts.filter((a) => a.churnedOn);
    expect(churned.length).toBeGreaterThan(250);
    for (const a of churned) {
      const last = a.snapshots.at(-1)!.asOf;
      expect(last <= a.churnedOn!).toBe(true);
      expect(addDays(last, 7) > a.churnedOn!).toBe(true);
      expect(a.outcomes.at(-1)).toMatchObject({ type: "churned", date: a.churnedOn });
    }
  });

  it("decides outcomes by the dynamics: unhealthy accounts churn, healthy full ones expand", () => {
    const churners = portfolio.accounts.filter((a) => a.churnedOn);
    const renewers = portfolio.accounts.filter((a) => a.outcomes.some((o) => o.type === "renewed"));
    const renewalHealth = (a: SaasAccount) => healthBefore(a, a.outcomes.find((o) => o.type !== "expanded")!.date);
    expect(mean(churners.map(renewalHealth))).toBeLessThan(mean(renewers.map(renewalHealth)) - 0.5);
    // Accounts that came to their renewal at risk churned far more often than healthy ones.
    const decided = [...churners, ...renewers];
    const rate = (xs: SaasAccount[]) => xs.filter((a) => a.churnedOn).length / xs.length;
    expect(rate(decided.filter((a) => renewalHealth(a) < AT_RISK))).toBeGreaterThan(4 * rate(decided.filter((a) => renewalHealth(a) >= HEALTHY)));
    // Observed signals carry the latent health: churners logged in less in their last weeks.
    const logins = (xs: SaasAccount[]) => mean(xs.map((a) => Number(a.snapshots.at(-1)!.signals.logins_30d)));
    expect(logins(churners)).toBeLessThan(logins(renewers) - 3);

    const expanded = portfolio.accounts.filter((a) => a.outcomes.some((o) => o.type === "expanded"));
    for (const a of expanded) {
      const amounts = a.outcomes.filter((o) => o.type === "expanded").map((o) => o.amount!);
      expect(a.arr).toBe(a.startArr + amounts.reduce((x, y) => x + y, 0));
      for (const o of a.outcomes.filter((x) => x.type === "expanded")) {
        const before = a.snapshots.filter((s) => s.asOf <= o.date).at(-1)!;
        expect(Number(before.signals.seats_used) / Number(before.signals.seats)).toBeGreaterThanOrEqual(0.85);
        const after = a.snapshots.find((s) => s.asOf > o.date);
        if (after) expect(Number(after.signals.seats)).toBeGreaterThan(Number(before.signals.seats));
      }
    }
    expect(mean(expanded.map((a) => mean(a.snapshots.map((s) => s.health))))).toBeGreaterThan(mean(churners.map((a) => mean(a.snapshots.map((s) => s.health)))) + 1);
    // Unhealthy accounts decline QBRs: weeks at risk are much longer since the last one.
    const weeks = portfolio.accounts.flatMap((a) => a.snapshots);
    const sinceQbr = (at: (h: number) => boolean) => mean(weeks.filter((w) => at(w.health)).map((w) => Number(w.signals.days_since_qbr)));
    expect(sinceQbr((h) => h < AT_RISK)).toBeGreaterThan(sinceQbr((h) => h >= HEALTHY) + 30);
    // Drifting into risk and staying there ends in churn more often than never being at risk.
    const stuck = portfolio.accounts.filter((a) => a.drifted && !a.recovered);
    const neverAtRisk = portfolio.accounts.filter((a) => a.snapshots.every((w) => w.health >= AT_RISK));
    expect(rate(stuck)).toBeGreaterThan(1.3 * rate(neverAtRisk));
  });

  it("trains on as-of days whose 90-day horizon has passed", () => {
    const days = trainingAsOfDays(portfolio.weeks[0], TODAY, TODAY);
    expect(days.length).toBe(10);
    expect(days.at(-1)! <= addDays(TODAY, -90)).toBe(true);
    expect(days[0] >= portfolio.weeks[0]).toBe(true);
  });

  it("is chosen by --demo saas or FORESIGHT_DEMO=saas; Telco stays the default", () => {
    expect(chooseDemo([], {}).name).toBe("telco");
    expect(chooseDemo(["--demo", "saas"], {}).name).toBe("saas");
    expect(chooseDemo(["--demo=saas"], {}).name).toBe("saas");
    expect(chooseDemo([], { FORESIGHT_DEMO: "saas" }).name).toBe("saas");
    expect(chooseDemo(["--demo", "telco"], { FORESIGHT_DEMO: "saas" }).name).toBe("telco");
    expect(chooseDemo([], {}).stateDir).toBeNull();
    expect(chooseDemo(["--demo", "saas"], {}).stateDir).toBe(".wrangler/state-saas");
    expect(() => chooseDemo(["--demo", "retail"], {})).toThrow(UsageError);
    expect(() => chooseDemo(["--demo"], {})).toThrow(UsageError);
  });
});

describe("loading the SaaS demo into a throwaway local stack (as npm start -- --demo saas)", () => {
  // npm start's steps on a third of its accounts, to stay well within two minutes.
  const ACCOUNTS = 1000;
  const root = path.resolve(import.meta.dirname, "../..");
  let platform: LocalPlatform | undefined;
  afterAll(async () => {
    await platform?.dispose();
  });

  it("writes accounts, weekly snapshots, outcomes and a weekly score history; a second run reuses them", async () => {
    const state = mkdtempSync(path.join(tmpdir(), "foresight-demo-saas-"));
    execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
    process.env.FORESIGHT_STATE_DIR = state;
    platform = await openLocalPlatform();
    const { DB } = platform.env;
    const lines: string[] = [];
    const log: Log = { step: (t) => lines.push(`› ${t}`), info: (t) => lines.push(`  ${t}`) };
    const started = performance.now();
    const today = new Date().toISOString().slice(0, 10);
    await prepareDemo(platform.env, saasDemo(ACCOUNTS), { modelsDir: path.join(state, "models"), log });
    console.log(`[demo-saas] first load took ${((performance.now() - started) / 1000).toFixed(1)} s:\n${lines.join("\n")}`);
    const one = async <T>(sql: string) => (await DB.prepare(sql).first<T>())!;

    expect(await one<{ n: number }>("SELECT count(*) AS n FROM accounts")).toEqual({ n: ACCOUNTS });
    const snaps = await one<{ days: number; lo: string; hi: string; accounts: number }>("SELECT count(DISTINCT as_of) AS days, min(as_of) AS lo, max(as_of) AS hi, count(DISTINCT account_id) AS accounts FROM signal_snapshots");
    expect(snaps).toEqual({ days: WEEKS, lo: addDays(today, -7 * (WEEKS - 1)), hi: today, accounts: ACCOUNTS });
    const live = await one<{ n: number; full: number }>(
      `SELECT count(*) AS n, sum((SELECT count(*) FROM signal_snapshots s WHERE s.account_id = a.id) = ${WEEKS}) AS full
       FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.account_id = a.id AND o.type = 'churned')`,
    );
    expect(live.full).toBe(live.n);
    const outcomes = (await DB.prepare("SELECT type, count(*) AS n FROM outcomes GROUP BY type ORDER BY type").all<{ type: string; n: number }>()).results;
    const by = Object.fromEntries(outcomes.map((o) => [o.type, o.n]));
    expect(by.churned / ACCOUNTS).toBeGreaterThan(0.08);
    expect(by.renewed / ACCOUNTS).toBeGreaterThan(0.8);
    expect(by.expanded / ACCOUNTS).toBeGreaterThan(0.15);
    expect(live.n).toBe(ACCOUNTS - by.churned);
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM signal_snapshots s JOIN outcomes o ON o.account_id = s.account_id AND o.type = 'churned' WHERE s.as_of > o.date")).toEqual({ n: 0 });
    // Current signals are the latest snapshot's.
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM accounts a WHERE a.features <> (SELECT s.features FROM signal_snapshots s WHERE s.account_id = a.id ORDER BY s.as_of DESC LIMIT 1)")).toEqual({ n: 0 });

    const model = await one<{ target: string; status: string }>("SELECT target, status FROM models");
    expect(model).toEqual({ target: "churn", status: "active" });
    // A score per snapshot: the history for each past week (dated that week), the current score for today's.
    const history = await one<{ n: number; accounts: number; days: number }>(
      "SELECT count(*) AS n, count(DISTINCT account_id) AS accounts, count(DISTINCT substr(scored_at, 1, 10)) AS days FROM scores WHERE source = 'demo-history'",
    );
    expect(history).toEqual({ n: (await one<{ n: number }>(`SELECT count(*) AS n FROM signal_snapshots WHERE as_of < '${today}'`)).n, accounts: ACCOUNTS, days: WEEKS - 1 });
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM scores WHERE source = 'start'")).toEqual({ n: live.n });
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM scores WHERE source = 'demo-history' AND json_array_length(drivers) > 3")).toEqual({ n: 0 });
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM scores s JOIN signal_snapshots p ON p.account_id = s.account_id AND p.as_of = substr(s.scored_at, 1, 10) WHERE s.source = 'demo-history'")).toEqual({ n: history.n });
    // The current score is every account's newest, by id and by time; churned accounts keep their last one from before they left.
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM accounts a WHERE a.score_id <> (SELECT max(id) FROM scores s WHERE s.account_id = a.id) OR a.scored_at <> (SELECT max(scored_at) FROM scores s WHERE s.account_id = a.id)")).toEqual({ n: 0 });
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM accounts a JOIN outcomes o ON o.account_id = a.id AND o.type = 'churned' WHERE substr(a.scored_at, 1, 10) > o.date")).toEqual({ n: 0 });
    expect(await one<{ n: number }>(`SELECT count(*) AS n FROM accounts WHERE scored_at >= '${today}' AND id IN (SELECT account_id FROM outcomes WHERE type = 'churned')`)).toEqual({ n: 0 });

    lines.length = 0;
    await prepareDemo(platform.env, saasDemo(ACCOUNTS), { modelsDir: path.join(state, "models"), log });
    expect(lines.join("\n")).toContain(`${ACCOUNTS} accounts in local D1`);
    expect(lines.join("\n")).toContain("active model");
    expect(lines.join("\n")).toContain("every account already has a current score");
    expect(lines.join("\n")).not.toContain("training");
    expect(await one<{ n: number }>("SELECT count(*) AS n FROM models")).toEqual({ n: 1 });
  }, 240_000);
});
