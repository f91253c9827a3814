/** Slack's message for account.trend_changed: who, health now and forecast, act-by and why. */
import { describe, expect, it } from "vitest";
import { slackMessage } from "../../../workers/webhooks/slack";

describe("account.trend_changed in Slack", () => {
  it("names the account, its health path, when to act and why", () => {
    const m = slackMessage(
      "account.trend_changed",
      {
        account: { id: "ACME-1", name: "Acme <Corp>", arr: 120000, owner: "dana@cs.example" },
        previousTrend: "stable",
        trend: "declining",
        health: 58,
        horizons: [
          { days: 30, health: 49, lower: 43, upper: 55 },
          { days: 90, health: 33, lower: 22, upper: 44 },
        ],
        actBy: "2027-01-12",
        reasons: ["health forecast to reach red in about 95 days, leaving 14 days of lead time"],
        source: "trend",
        runId: "run_x",
      },
      "evt_1",
    );
    expect(m.text).toBe("Acme <Corp> turned declining: health 58 today, forecast 33 in 90 days; act by 2027-01-12");
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain("Acme &lt;Corp&gt;");
    expect(blocks).toContain("58 today → 33 in 90 days (90% range 22–44)");
    expect(blocks).toContain("2027-01-12");
    expect(blocks).toContain("health forecast to reach red in about 95 days");
  });
});
