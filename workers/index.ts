/**
 * Worker entry: the HTTP API, plus the cron and queue handlers that keep scores fresh.
 * Batch rescoring and webhook delivery arrive with their own issue; until then the handlers
 * log what they received and do nothing else, so the declared triggers are harmless.
 */
import { createApp } from "./api/app";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller: ScheduledController): Promise<void> {
    console.log(`cron ${controller.cron}: batch rescoring is not implemented yet`);
  },
  async queue(batch: MessageBatch): Promise<void> {
    console.log(`queue ${batch.queue}: ${batch.messages.length} message(s) acknowledged; consumers are not implemented yet`);
    batch.ackAll();
  },
} satisfies ExportedHandler<Env>;
