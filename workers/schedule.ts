/**
 * What runs when: each cron string in wrangler.toml with its jobs, each queue with its consumer.
 * `test/workers/schedule.node.test.ts` fails when wrangler.toml and these tables disagree. An
 * unknown cron logs an error and runs nothing; an unknown queue's messages are left for retry.
 *
 * To add a cron job: write `(env, now, ctx) => Promise<void>` in its concept's folder, add the
 * cron string to `[triggers] crons` in wrangler.toml and the job here.
 */
import { consumeExports } from "./exports/job";
import { ensureDailyExport } from "./exports/queue";
import { runWeeklyInsights } from "./insights/digest";
import { runDailyMonitoring } from "./monitoring/job";
import { consumeRescoreChunks, consumeRescoreDeadLetters, startDailyRescoring } from "./rescoring/consumer";
import { consumeRetention, consumeRetentionDeadLetters, startDailyRetention } from "./retention/consumer";
import { consumeDeadDeliveries, consumeDeliveries } from "./webhooks/delivery";
import { sweepOutbox } from "./webhooks/outbox";

/** A cron job: a plain function of the environment and the scheduled time. */
export type CronJob = (env: Env, now: Date, ctx: ExecutionContext) => Promise<void>;

/** A queue consumer: acknowledges or retries each message of the batch itself. */
export type QueueConsumer = (batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext) => Promise<void>;

/** Each cron's jobs, run in order (a job that throws stops the ones after it, and the runtime logs it). */
export const CRONS: Record<string, readonly CronJob[]> = {
  // Rescoring first: each retention range waits until the day's run has rescored it.
  "0 2 * * *": [startDailyRescoring, sweepOutbox, startDailyRetention],
  // The CRM export's safety net first (it only queues): today's export if the rescoring run did not start it.
  "17 3 * * *": [ensureDailyExport, runDailyMonitoring],
  // Monday 01:00: after Sunday's rescoring and monitoring, before Monday's rescoring and retention.
  "0 1 * * 1": [runWeeklyInsights],
};

export const QUEUES: Record<string, QueueConsumer> = {
  "foresight-rescore": consumeRescoreChunks,
  "foresight-rescore-dlq": consumeRescoreDeadLetters,
  "foresight-retention": consumeRetention,
  "foresight-retention-dlq": consumeRetentionDeadLetters,
  "foresight-webhooks": consumeDeliveries,
  "foresight-webhooks-dlq": consumeDeadDeliveries,
  "foresight-exports": consumeExports,
};

/** The Worker's `scheduled` handler. */
export async function runCron(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const jobs = CRONS[controller.cron];
  if (!jobs) {
    console.error(`cron '${controller.cron}' has no jobs in workers/schedule.ts; nothing ran`);
    return;
  }
  const now = new Date(controller.scheduledTime);
  for (const job of jobs) await job(env, now, ctx);
}

/** The Worker's `queue` handler. */
export async function consumeQueue(batch: MessageBatch<unknown>, env: Env, ctx: ExecutionContext): Promise<void> {
  const consumer = QUEUES[batch.queue];
  if (!consumer) {
    console.error(`queue ${batch.queue}: no consumer in workers/schedule.ts; ${batch.messages.length} message(s) left for retry`);
    batch.retryAll();
    return;
  }
  await consumer(batch, env, ctx);
}
