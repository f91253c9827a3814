/**
 * The retention queue's consumers, and the cron job that fills the queue. Messages are handled one
 * at a time: each one's pages are bounded (see job.ts), and D1 writes from several at once would
 * only queue behind each other.
 */
import { type RetentionMessage, processRetention, startRetention } from "./job";

/** Cron job: queue today's retention (after the day's rescoring run, which each range waits for). */
export async function startDailyRetention(env: Env, now: Date): Promise<void> {
  const retention = await startRetention(env, now);
  console.log(`cron: retention for ${retention.day} queued in ${retention.messages} messages`);
}

/** Consumer of `foresight-retention`. */
export async function consumeRetention(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const m of batch.messages as readonly Message<RetentionMessage>[]) await consumeOne(env, m);
}

/** Consumer of `foresight-retention-dlq`. Nothing is lost: rows leave D1 only after their archive is written; tomorrow's run retries. */
export async function consumeRetentionDeadLetters(batch: MessageBatch<unknown>): Promise<void> {
  for (const m of batch.messages as readonly Message<RetentionMessage>[]) {
    console.error(`retention message failed after every retry:`, JSON.stringify(m.body));
    m.ack();
  }
}

/**
 * The queue consumer's part: runs a message and acknowledges it; re-queues it when its page
 * budget ran out (`more`) or its range's rescoring is still to come (`waiting`, in a minute).
 */
async function consumeOne(env: Env, m: Message<RetentionMessage>): Promise<void> {
  const body = m.body;
  try {
    const r = await processRetention(env, body);
    if (r.status !== "done") await env.RETENTION_QUEUE.send(body, { contentType: "json", delaySeconds: r.status === "waiting" ? 60 : 0 });
    const moved = Object.entries(r.counts).filter(([, c]) => c.deleted + c.thinned > 0);
    if (moved.length) console.log(`retention ${body.retention} ${body.part === "logs" ? "logs" : `from ${body.part.from}`}: ${moved.map(([t, c]) => `${t} ${c.deleted} deleted, ${c.thinned} thinned`).join("; ")}${r.status === "more" ? " (continues)" : ""}`);
    m.ack();
  } catch (err) {
    console.error(`retention ${body.retention} ${body.part === "logs" ? "logs" : `from ${body.part.from}`} failed (attempt ${m.attempts}):`, err);
    m.retry({ delaySeconds: Math.min(300, 10 * 2 ** m.attempts) });
  }
}
