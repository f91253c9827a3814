/**
 * The rescore queue's consumers and the daily rescoring cron job. A chunk that throws is retried
 * with back-off; one that fails every retry reaches the dead-letter queue, which marks its run
 * failed.
 */
import { processChunk, type RescoreMessage, startRun } from "./chunks";

/** Cron job: start today's rescoring run over every account with the active model. */
export async function startDailyRescoring(env: Env): Promise<void> {
  const run = await startRun(env, "cron");
  console.log(run ? `cron: rescoring run ${run.runId} over ${run.accounts} accounts in ${run.chunks} chunks` : "cron: no active model; nothing to rescore");
}

/** Consumer of `foresight-rescore`: one chunk of a run per message. */
export async function consumeRescoreChunks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const m of batch.messages as readonly Message<RescoreMessage>[]) {
    try {
      await processChunk(env, m.body, m.attempts);
      m.ack();
    } catch (err) {
      console.error(`rescore chunk ${m.body.chunk} of ${m.body.runId} failed (attempt ${m.attempts}):`, err);
      m.retry({ delaySeconds: Math.min(60, 2 ** m.attempts) });
    }
  }
}

/** Consumer of `foresight-rescore-dlq`: a chunk that failed every retry fails its run. */
export async function consumeRescoreDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const m of batch.messages as readonly Message<RescoreMessage>[]) {
    await env.DB.prepare("UPDATE rescore_runs SET status = 'failed', error = ?2 WHERE id = ?1 AND status = 'running'")
      .bind(m.body.runId, `chunk ${m.body.chunk} failed after every retry`)
      .run();
    m.ack();
  }
}
