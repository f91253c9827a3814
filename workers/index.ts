/**
 * Worker entry: the HTTP API; the crons (daily rescoring with its retention, daily accuracy
 * monitoring); and the queue consumers (rescoring chunks and retention, webhook deliveries and
 * their dead letters).
 */
import { createApp } from "./http/app";
import { enqueuePendingDeliveries } from "./webhooks/outbox";
import { processChunk, type RescoreMessage, startRun } from "./rescoring/chunks";
import { consumeRetention, isRetentionMessage, startRetention } from "./retention/job";

const app = createApp();

/** The cron schedules in wrangler.toml, by purpose. */
const CRON_RESCORE = "0 2 * * *";
const CRON_MONITOR = "17 3 * * *";

export default {
  fetch: app.fetch,

  async scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    if (controller.cron === CRON_MONITOR) {
      const { runMonitoring } = await import("./monitoring/job");
      await runMonitoring(env);
      return;
    }
    const run = await startRun(env, "cron");
    console.log(run ? `cron ${controller.cron}: rescoring run ${run.runId} over ${run.accounts} accounts in ${run.chunks} chunks` : `cron ${controller.cron}: no active model; nothing to rescore`);
    // Deliveries written but never queued (a crash between the two) go out now.
    ctx.waitUntil(enqueuePendingDeliveries(env).then((n) => n && console.log(`cron: queued ${n} pending webhook deliveries`)));
    // Queued after the run's chunks; each range also waits for today's rescoring to pass it.
    const retention = await startRetention(env, new Date(controller.scheduledTime));
    console.log(`cron ${controller.cron}: retention for ${retention.day} queued in ${retention.messages} messages`);
  },

  async queue(batch: MessageBatch<unknown>, env: Env, _ctx: ExecutionContext): Promise<void> {
    if (batch.queue.startsWith("foresight-rescore")) {
      if (batch.queue.endsWith("-dlq")) {
        for (const m of batch.messages) {
          if (isRetentionMessage(m.body)) {
            // Nothing is lost: rows leave D1 only after their archive is written; tomorrow's run retries.
            console.error(`retention ${m.body.retention} message failed after every retry:`, JSON.stringify(m.body.part));
            m.ack();
            continue;
          }
          const body = m.body as RescoreMessage;
          await env.DB.prepare("UPDATE rescore_runs SET status = 'failed', error = ?2 WHERE id = ?1 AND status = 'running'")
            .bind(body.runId, `chunk ${body.chunk} failed after every retry`)
            .run();
          m.ack();
        }
        return;
      }
      for (const m of batch.messages) {
        if (isRetentionMessage(m.body)) {
          await consumeRetention(env, m);
          continue;
        }
        try {
          await processChunk(env, m.body as RescoreMessage, m.attempts);
          m.ack();
        } catch (err) {
          console.error(`rescore chunk ${(m.body as RescoreMessage).chunk} of ${(m.body as RescoreMessage).runId} failed (attempt ${m.attempts}):`, err);
          m.retry({ delaySeconds: Math.min(60, 2 ** m.attempts) });
        }
      }
      return;
    }
    if (batch.queue.startsWith("foresight-webhooks")) {
      const { consumeDeliveries } = await import("./webhooks/delivery");
      await consumeDeliveries(batch as MessageBatch<never>, env);
      return;
    }
    console.error(`queue ${batch.queue}: no consumer; ${batch.messages.length} message(s) left for retry`);
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
