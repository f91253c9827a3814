/** The backtest's timing rules: lead times from the first flag within 180 days, and flag precision. */
import { describe, expect, it } from "vitest";
import type { OriginFlags } from "../../training/backtest/health";
import { timing } from "../../training/backtest/timing";

const origin = (cutoff: string, o: { flagged?: string[]; red?: string[]; churned?: string[] }): OriginFlags => ({
  cutoff,
  flagged: new Set(o.flagged ?? []),
  red: new Set(o.red ?? []),
  churned: new Set(o.churned ?? []),
});

describe("timing", () => {
  it("measures lead from the first flag in the 180 days before the first churn label, 0 if never flagged", () => {
    const t = timing([
      origin("2024-01-01", { flagged: ["a"] }),
      origin("2024-01-31", { flagged: ["a", "b"], red: ["a"] }),
      origin("2024-03-01", { flagged: ["a", "b"], red: ["a", "b"] }),
      origin("2024-03-31", { churned: ["a", "b", "c"], red: ["a", "b"] }),
      origin("2024-04-30", { churned: ["a"] }),
    ]);
    // a: flagged from 2024-01-01 (90 days before), b from 01-31 (60), c never (0) → median 60.
    expect(t.cutoffs).toBe(5);
    expect(t.churners).toBe(3);
    expect(t.medianLeadDays).toBe(60);
    // Red rule: a from 01-31 (60), b from 03-01 (30), c 0 → median 30.
    expect(t.redRuleMedianLeadDays).toBe(30);
    expect(t.precision).toBe(1);
    expect(t.redRulePrecision).toBe(1);
  });

  it("counts a flag correct only when the account churns at that cutoff or within 180 days after", () => {
    const t = timing([origin("2024-01-01", { flagged: ["a", "x"] }), origin("2024-05-01", { churned: ["a"] }), origin("2024-12-01", { churned: ["x"] })]);
    expect(t.flags).toBe(2);
    expect(t.precision).toBe(0.5);
  });

  it("ignores flags more than 180 days before the churn label, and churners labelled at the first cutoff", () => {
    const t = timing([origin("2024-01-01", { flagged: ["a"], churned: ["z"] }), origin("2024-08-01", { churned: ["a", "z"] })]);
    expect(t.churners).toBe(1);
    expect(t.medianLeadDays).toBe(0);
  });
});
