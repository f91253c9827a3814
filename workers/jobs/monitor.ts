/** Accuracy and drift monitoring (daily cron). Being built: see issue 5. */
export async function runMonitoring(env: Env): Promise<void> {
  console.log("monitoring: not built yet", Boolean(env));
}
