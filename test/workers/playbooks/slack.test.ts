/** Slack's message for account.playbook_recommended: who entered which tier, the playbook, when to act, the steps and why. */
import { describe, expect, it } from "vitest";
import { slackMessage } from "../../../workers/webhooks/slack";

describe("account.playbook_recommended in Slack", () => {
  it("names the account, the playbook to start and by when, its steps with due dates and the reasons", () => {
    const m = slackMessage(
      "account.playbook_recommended",
      {
        account: { id: "ACME-1", name: "Acme <Corp>", arr: 120000, owner: "dana@cs.example" },
        previousTier: "yellow",
        tier: "red",
        churnProbability: 0.81,
        playbook: { id: "red-tickets", version: 2, name: "Support escalation", driver: "tickets", leadDays: 7 },
        actBy: "2026-12-01",
        steps: [
          { title: "Escalate the open tickets", dueDate: "2026-12-02", dueDays: 1 },
          { title: "Call the champion", dueDate: "2026-12-03", dueDays: 2 },
        ],
        reasons: ['red, and its top driver is tickets (support tickets at 12 a quarter): "Support escalation" is the red playbook for tickets', "act by 2026-12-01: already red (health 19): act now"],
        runId: "run_x",
      },
      "evt_1",
    );
    expect(m.text).toBe('Acme <Corp> entered red: start "Support escalation" by 2026-12-01');
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain("Acme &lt;Corp&gt;");
    expect(blocks).toContain("• Escalate the open tickets (by 2026-12-02)");
    expect(blocks).toContain("$120,000");
    expect(blocks).toContain("81%");
    expect(blocks).toContain("support tickets at 12 a quarter");
    expect(blocks).toContain("playbook red-tickets v2");
  });
});
