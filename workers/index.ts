/**
 * Worker entry: the HTTP API (workers/http/app.ts, each concept's routes), and the crons and
 * queue consumers listed in workers/schedule.ts.
 */
import { createApp } from "./http/app";
import { consumeQueue, runCron } from "./schedule";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: runCron,
  queue: consumeQueue,
} satisfies ExportedHandler<Env>;
