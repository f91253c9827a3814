/** The webhook outbox sweeper: deliveries written but never queued, and retries whose message was lost. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { enqueuePendingDeliveries } from "../../../workers/webhooks/outbox";

describe("enqueuePendingDeliveries", () => {
  it("queues unqueued pending deliveries and retries an hour overdue, and leaves the rest alone", async () => {
    const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
    const ahead = new Date(Date.now() + 60 * 60_000).toISOString();
    await env.DB.prepare("INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES ('we_sweep', 'https://example.com/hook', '[\"*\"]', 'whsec_x')").run();
    const rows: [id: string, status: string, attempts: number, next: string | null, enqueued: string | null][] = [
      ["dlv_new", "pending", 0, null, null], // written, never queued: queued now
      ["dlv_queued", "pending", 0, null, ago(1)], // queued a minute ago: left alone
      ["dlv_lost_retry", "retrying", 2, ago(120), ago(180)], // retry two hours overdue: queued again
      ["dlv_waiting", "retrying", 1, ahead, ago(5)], // retry not due yet: left alone
      ["dlv_done", "succeeded", 1, null, ago(300)],
    ];
    for (const [id, status, attempts, next, enqueued] of rows) {
      await env.DB.prepare("INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, enqueued_at) VALUES (?1, 'we_sweep', ?1, 'rescore.completed', ?2, ?3, ?4, ?5)")
        .bind(id, status, attempts, next, enqueued)
        .run();
    }
    const before = await env.DB.prepare("SELECT id, enqueued_at FROM webhook_deliveries").all<{ id: string; enqueued_at: string | null }>();
    expect(await enqueuePendingDeliveries(env)).toBe(2);
    const after = await env.DB.prepare("SELECT id, enqueued_at FROM webhook_deliveries").all<{ id: string; enqueued_at: string | null }>();
    const changed = after.results.filter((r) => r.enqueued_at !== before.results.find((b) => b.id === r.id)!.enqueued_at).map((r) => r.id).sort();
    expect(changed).toEqual(["dlv_lost_retry", "dlv_new"]);
    // Queued once: a second sweep right away finds nothing to do.
    expect(await enqueuePendingDeliveries(env)).toBe(0);
  });
});
