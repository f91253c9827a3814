/** Webhook delivery consumer. Being built: see issue 5. */
export async function consumeDeliveries(batch: MessageBatch<never>, env: Env): Promise<void> {
  console.log(`webhooks: consumer not built yet; ${batch.messages.length} message(s) left for retry`, Boolean(env));
  batch.retryAll({ delaySeconds: 60 });
}
