/**
 * The pure parts of playbooks, in Node: which playbook fits (most specific wins, ties by id, the
 * reasons), lead days, templates (placeholders, sections, missing values) and drivers in words,
 * and the holdout's draw (deterministic, uniform: the control share lands inside binomial bounds).
 */
import { describe, expect, it } from "vitest";
import { armFor, holdoutConfig, holdoutDraw, standing, type StoredAssignment } from "../../../workers/playbooks/holdout";
import { DEFAULT_PLAYBOOKS } from "../../../shared/cs/default-playbooks";
import { driverFit, leadDaysWith, matchPlaybook, type PlaybookFacts } from "../../../workers/playbooks/policy";
import { driverInWords, renderTemplate, templateErrors } from "../../../workers/playbooks/templates";

const pb = (id: string, tier: PlaybookFacts["tier"], driver: string | null, leadDays = 14): PlaybookFacts => ({ id, version: 1, name: `Play ${id}`, tier, driver, leadDays });
const logins = { feature: "logins_30d", value: 8, contribution: 0.9, phrase: "logins fell from 22 to 8 a month" };
const tickets = { feature: "tickets_90d", value: 9, contribution: 0.7, phrase: "support tickets rose from 2 to 9 a quarter" };
const nps = { feature: "nps", value: 9, contribution: -0.4, phrase: "nps at 9" };

describe("matchPlaybook", () => {
  const books = [pb("red-all", "red", null, 7), pb("red-logins", "red", "logins", 5), pb("red-col", "red", "logins_30d", 3), pb("yellow-all", "yellow", null)];

  it("prefers the column over the CS signal over the whole tier", () => {
    expect(matchPlaybook(books, "red", [logins, nps]).playbook?.id).toBe("red-col");
    expect(matchPlaybook(books.filter((b) => b.id !== "red-col"), "red", [logins]).playbook?.id).toBe("red-logins");
    expect(matchPlaybook(books, "red", [tickets, nps]).playbook?.id).toBe("red-all");
  });

  it("reads the dominant driver as the one raising risk most, whatever the order", () => {
    const m = matchPlaybook(books, "red", [nps, tickets, { ...logins, contribution: 1.2 }]);
    expect(m.driver?.feature).toBe("logins_30d");
    expect(m.signal).toBe("logins");
    expect(matchPlaybook(books, "red", [nps]).playbook?.id).toBe("red-all");
  });

  it("explains the choice in words", () => {
    const m = matchPlaybook(books.filter((b) => b.id !== "red-col"), "red", [logins]);
    expect(m.fit).toBe("signal");
    expect(m.reasons[0]).toBe('red, and its top driver is logins (logins fell from 22 to 8 a month): "Play red-logins" is the red playbook for logins, chosen over the playbook for every red account, "Play red-all"');
    const tierOnly = matchPlaybook(books, "red", [tickets]);
    expect(tierOnly.reasons[0]).toBe('red, and its top driver is tickets (support tickets rose from 2 to 9 a quarter): "Play red-all" is the playbook for red accounts; none targets its top driver, tickets');
    expect(matchPlaybook(books, "red", []).reasons[0]).toContain("its latest score names no driver that raises risk");
  });

  it("breaks ties by id and says so", () => {
    const m = matchPlaybook([pb("b-two", "yellow", "logins"), pb("a-one", "yellow", "logins"), pb("c", "yellow", null)], "yellow", [logins]);
    expect(m.playbook?.id).toBe("a-one");
    expect(m.reasons[1]).toBe("2 playbooks fit equally well (a-one, b-two); the first by id, a-one, is used");
  });

  it("gives green accounts, unscored ones and tiers without a playbook none, with the reason", () => {
    expect(matchPlaybook(books, "green", [logins])).toMatchObject({ playbook: null, reasons: [expect.stringMatching(/^green: no playbook applies to green accounts/)] });
    expect(matchPlaybook(books, null, []).playbook).toBeNull();
    expect(matchPlaybook(books, "blue", [logins]).reasons[0]).toMatch(/no current playbook applies to blue accounts/);
  });

  it("matches drivers by column without case or punctuation, and by signal", () => {
    expect(driverFit("Logins 30d", "logins_30d")).toBe("column");
    expect(driverFit("tickets", "Support_Tickets_Last_Quarter")).toBe("signal");
    expect(driverFit("logins", "days_since_last_login")).toBe("signal");
    expect(driverFit("tickets", "logins_30d")).toBeNull();
    expect(driverFit("region", "Region_Code")).toBeNull();
  });

  it("puts the playbook's lead days on its tier only", () => {
    const base = { red: 14, yellow: 14, green: 14, blue: 14 };
    expect(leadDaysWith(base, matchPlaybook(books, "red", [tickets]))).toEqual({ ...base, red: 7 });
    expect(leadDaysWith(base, matchPlaybook(books, "green", [tickets]))).toEqual(base);
  });

  it("shows specificity with the defaults: red + tickets escalates, red + logins gets the executive rescue", () => {
    const defaults = DEFAULT_PLAYBOOKS.map((p) => ({ ...p, version: 1 }));
    expect(matchPlaybook(defaults, "red", [tickets]).playbook?.id).toBe("red-tickets");
    expect(matchPlaybook(defaults, "red", [logins]).playbook?.id).toBe("red-rescue");
    expect(matchPlaybook(defaults, "yellow", [logins]).playbook?.id).toBe("yellow-logins");
    expect(matchPlaybook(defaults, "blue", []).playbook?.id).toBe("blue-expand");
    for (const p of DEFAULT_PLAYBOOKS) expect(templateErrors(p.template), p.id).toEqual([]);
  });
});

describe("templates", () => {
  it("renders placeholders, keeps sections with a value and drops those without, and never prints undefined or null", () => {
    const text = "Hi {{name}} team,{{#renewalDate}} before {{renewalDate}}{{/renewalDate}}{{^renewalDate}} soon{{/renewalDate}}. {{owner}} ({{signals.logins_30d}})";
    expect(renderTemplate(text, { name: "Acme", renewalDate: "2027-02-01", owner: "Dana", signals: { logins_30d: 8 } })).toBe("Hi Acme team, before 2027-02-01. Dana (8)");
    const bare = renderTemplate(text, { name: "Acme", renewalDate: null, owner: undefined });
    expect(bare).toBe("Hi Acme team, soon. ()");
    expect(bare).not.toMatch(/undefined|null/);
  });

  it("tidies the gaps a missing value leaves", () => {
    expect(renderTemplate("Dear {{name}} , thanks.\n\n\n\n{{drivers}}\n\nBye", {})).toBe("Dear, thanks.\n\nBye");
  });

  it("refuses unknown placeholders and unbalanced sections, naming the part", () => {
    expect(templateErrors({ subject: "Hi {{nam}}", body: "ok" })).toEqual([{ field: "template.subject", detail: expect.stringContaining("unknown placeholder {{nam}}") }]);
    expect(templateErrors({ subject: "ok", body: "{{#owner}}x" })).toEqual([{ field: "template.body", detail: "{{#owner}} is never closed with {{/owner}}" }]);
    expect(templateErrors({ subject: "ok", body: "x{{/owner}}" })[0].detail).toBe("{{/owner}} closes no open {{#owner}} section");
    expect(templateErrors({ subject: "{{signals.seats}}", body: "{{ drivers }}" })).toEqual([]);
  });
});

describe("drivers in words", () => {
  it("compares with a month earlier when known, with the column's counting window", () => {
    expect(driverInWords({ feature: "logins_30d", value: 8 }, 22)).toBe("logins fell from 22 to 8 a month");
    expect(driverInWords({ feature: "tickets_90d", value: 9 }, 2)).toBe("support tickets rose from 2 to 9 a quarter");
    expect(driverInWords({ feature: "logins_30d", value: 8 }, 8)).toBe("logins steady at 8 a month");
    expect(driverInWords({ feature: "logins_30d", value: 8 })).toBe("logins at 8 a month");
    expect(driverInWords({ feature: "days_since_last_login", value: 45 }, 10)).toBe("days since the last login rose from 10 to 45");
    expect(driverInWords({ feature: "nps", value: 3.456 })).toBe("nps at 3.46");
  });

  it("words categories and missing values", () => {
    expect(driverInWords({ feature: "Contract", value: "Month-to-month" })).toBe("contract: month-to-month");
    expect(driverInWords({ feature: "PaymentMethod", value: null })).toBe("payment method not reported");
  });
});

describe("the holdout's draw", () => {
  it("is the same for the same inputs and differs by account, tier, period and salt", async () => {
    const a = await holdoutDraw("salt", "ACME-1", "red", "2026-12");
    expect(await holdoutDraw("salt", "ACME-1", "red", "2026-12")).toBe(a);
    const others = await Promise.all([holdoutDraw("salt", "ACME-2", "red", "2026-12"), holdoutDraw("salt", "ACME-1", "yellow", "2026-12"), holdoutDraw("salt", "ACME-1", "red", "2027-01"), holdoutDraw("pepper", "ACME-1", "red", "2026-12")]);
    for (const o of others) expect(o).not.toBe(a);
    for (const x of [a, ...others]) expect(x >= 0 && x < 1).toBe(true);
  });

  it("holds out a share inside binomial bounds (±4 standard deviations) at 10% and 25%", async () => {
    const n = 20_000;
    for (const share of [0.1, 0.25]) {
      let control = 0;
      for (let i = 0; i < n; i++) if ((await armFor("s3cr3t", `ACC-${i}`, "red", "2026-12", share)) === "control") control++;
      const sd = Math.sqrt(n * share * (1 - share));
      expect(control, `share ${share}`).toBeGreaterThan(n * share - 4 * sd);
      expect(control, `share ${share}`).toBeLessThan(n * share + 4 * sd);
    }
  });

  it("reads its settings, refusing values that are not a share or a day count", () => {
    expect(holdoutConfig({ HOLDOUT_SHARE: "0.1", HOLDOUT_WINDOW_DAYS: "90" })).toEqual({ share: 0.1, windowDays: 90 });
    expect(() => holdoutConfig({ HOLDOUT_SHARE: "10%" })).toThrow(/HOLDOUT_SHARE/);
    expect(() => holdoutConfig({ HOLDOUT_SHARE: "0.1", HOLDOUT_WINDOW_DAYS: "0" })).toThrow(/HOLDOUT_WINDOW_DAYS/);
  });

  it("holds an account out while a control assignment is live, for every tier, and not after", () => {
    const row = (tier: StoredAssignment["tier"], arm: StoredAssignment["arm"], assignedAt: string): StoredAssignment => ({
      accountId: "A",
      tier,
      period: assignedAt.slice(0, 7),
      arm,
      playbookId: "p",
      playbookVersion: 1,
      owner: null,
      arr: null,
      churnProbability: 0.8,
      scoreId: 1,
      windowDays: 90,
      assignedAt,
    });
    const control = row("red", "control", "2026-10-01T00:00:00.000Z");
    expect(standing([control], "yellow", "2026-12-01").state).toBe("held-out");
    expect(standing([control], "red", "2026-12-30").state).toBe("unassigned");
    const treated = row("red", "treated", "2026-12-02T00:00:00.000Z");
    expect(standing([treated], "red", "2026-12-20")).toEqual({ state: "assigned", assignment: treated });
    expect(standing([treated], "yellow", "2026-12-20").state).toBe("unassigned");
  });
});
