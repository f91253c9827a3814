/**
 * Slack endpoints inside workerd with real local D1 and Queues: tier changes, rescoring summaries
 * and model alerts delivered as Slack incoming-webhook messages, still signed. The receiver is
 * stubbed at `fetch`.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { consume, createEndpoint, deliveryOf, newEvent, receiver, setUpWebhookTests } from "./webhook-helpers";

setUpWebhookTests();

describe("delivery", () => {
  it("formats Slack endpoints' deliveries as a Slack message, still signed", async () => {
    const ep = await createEndpoint({ url: "https://hooks.slack.com/services/T0/B0/xyz", events: ["account.risk_tier_changed", "rescore.completed", "model.drift_detected"], kind: "slack" });
    const seen = receiver("https://hooks.slack.com/", () => new Response("ok"));
    const evt = await newEvent();
    await consume((await deliveryOf(ep.id, evt)).id);
    const run = await newEvent("rescore.completed", {
      runId: "run_slack",
      trigger: "cron",
      modelVersion: "churn-test",
      accounts: 7043,
      scored: 7043,
      tierChanges: 12,
      portfolio: { tiers: { red: { accounts: 500, arr: 600_000 }, yellow: { accounts: 900, arr: 800_000 }, green: { accounts: 5000, arr: 4_000_000 }, blue: { accounts: 643, arr: 700_000 } }, arrAtRisk: 1_234_567 },
    });
    await consume((await deliveryOf(ep.id, run)).id);
    // Shaped like monitoring's payload (workers/monitoring/job.ts).
    const drift = await newEvent("model.drift_detected", {
      modelVersion: "churn-test",
      computedAt: "2026-11-22T03:17:00.000Z",
      summary: "Drift against the training data on 7043 live accounts: 1 signal(s) shifted (tenure PSI 0.31) (alert above PSI 0.2).",
      threshold: 0.2,
      driftAccounts: 7043,
      maxFeaturePsi: 0.31,
      predictionPsi: 0.08,
      drifted: [{ feature: "tenure", psi: 0.31 }],
      recommendation: { action: "retrain", reason: "The portfolio no longer looks like the training data.", commands: ["npm run export-training -- --as-of 2026-08-24 --horizon 90 --out churn-2026-08-24.csv"], then: "Shadow it, compare, then activate." },
    });
    await consume((await deliveryOf(ep.id, drift)).id);
    expect(seen).toHaveLength(3);
    for (const s of seen) expect(() => new Webhook(ep.secret).verify(s.body, s.headers)).not.toThrow();
    const [change, summary, alert] = seen.map((s) => JSON.parse(s.body) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] }[] });
    expect(change.text).toBe("Acme <Corp> & Co moved from green to red risk: churn probability 21% → 83%");
    const all = JSON.stringify(change.blocks);
    expect(change.blocks[0].text!.text).toContain("*Acme &lt;Corp&gt; &amp; Co*");
    expect(all).toContain("month-to-month contract raises risk");
    expect(all).toContain("*Next action*");
    expect(all).toContain("$120,000");
    expect(all).toContain("Avery Chen");
    expect(all).toContain(evt);
    expect(summary.text).toBe("Rescoring run_slack completed: 7043 of 7043 accounts scored, 12 tier change(s)");
    expect(JSON.stringify(summary.blocks)).toContain("$1,234,567");
    expect(alert.text).toBe("Model churn-test: drift detected. Drift against the training data on 7043 live accounts: 1 signal(s) shifted (tenure PSI 0.31) (alert above PSI 0.2).");
    const alertBlocks = JSON.stringify(alert.blocks);
    expect(alertBlocks).toContain("tenure: PSI 0.31");
    expect(alertBlocks).toContain("npm run export-training -- --as-of 2026-08-24");
    expect(alertBlocks).toContain("*maxFeaturePsi*\\n0.310");
  });
});
