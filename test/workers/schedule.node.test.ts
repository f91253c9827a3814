/**
 * wrangler.toml and workers/schedule.ts agree: every cron has jobs and every job table entry a
 * cron; every consumed queue has a consumer and every consumer a queue; every producer and every
 * dead-letter queue is consumed.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { CRONS, QUEUES } from "../../workers/schedule";

interface QueueConfig {
  queues: { consumers?: { queue: string; dead_letter_queue?: string }[]; producers?: { queue: string; binding: string }[] };
  triggers: { crons?: string[] };
}
const config: QueueConfig = unstable_readConfig({ config: path.join(import.meta.dirname, "../../wrangler.toml") });
const consumed = (config.queues.consumers ?? []).map((c) => c.queue);

describe("workers/schedule.ts against wrangler.toml", () => {
  it("has jobs for exactly the crons wrangler.toml declares", () => {
    const crons = config.triggers.crons ?? [];
    expect(crons.length).toBeGreaterThan(0);
    for (const cron of crons) expect(CRONS[cron], `cron '${cron}' in wrangler.toml has no jobs in workers/schedule.ts`).toBeDefined();
    for (const cron of Object.keys(CRONS)) expect(crons, `jobs for '${cron}' in workers/schedule.ts, but wrangler.toml has no such cron`).toContain(cron);
    for (const [cron, jobs] of Object.entries(CRONS)) expect(jobs.length, `cron '${cron}' lists no jobs`).toBeGreaterThan(0);
  });

  it("has a consumer for exactly the queues wrangler.toml consumes", () => {
    for (const queue of consumed) expect(QUEUES[queue], `queue '${queue}' in wrangler.toml has no consumer in workers/schedule.ts`).toBeDefined();
    for (const queue of Object.keys(QUEUES)) expect(consumed, `consumer for '${queue}' in workers/schedule.ts, but wrangler.toml consumes no such queue`).toContain(queue);
  });

  it("consumes every queue something sends to: producers and dead-letter queues", () => {
    const produced = (config.queues.producers ?? []).map((p) => p.queue);
    const deadLetters = (config.queues.consumers ?? []).flatMap((c) => (c.dead_letter_queue ? [c.dead_letter_queue] : []));
    expect(deadLetters).toContain("foresight-retention-dlq");
    for (const queue of [...produced, ...deadLetters]) expect(consumed, `'${queue}' receives messages but nothing consumes it`).toContain(queue);
  });

  it("gives retention a queue and dead-letter queue of its own", () => {
    const retention = config.queues.consumers?.find((c) => c.queue === "foresight-retention");
    expect(retention?.dead_letter_queue).toBe("foresight-retention-dlq");
    expect(config.queues.producers?.find((p) => p.binding === "RETENTION_QUEUE")?.queue).toBe("foresight-retention");
  });
});
