/**
 * The retry policy for webhook deliveries: the schedule of waits after each failed attempt (with
 * jitter), `Retry-After`, Queues' longest delay, and when an endpoint is disabled. Pure: the
 * consumer in delivery.ts applies it.
 */
import type { AttemptLogEntry } from "../../shared/db/schema";

/** The production schedule: waits in seconds after each failed attempt (Standard Webhooks / Svix-like, ~3 days). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 50400, 57600];
/** Queues' longest `delaySeconds`. */
export const MAX_QUEUE_DELAY_S = 43_200;
/** The longest `Retry-After` honoured. */
export const RETRY_AFTER_CAP_S = 43_200;
/** Dead deliveries in a row that disable an endpoint. */
export const AUTO_DISABLE_AFTER = 3;

/** `WEBHOOK_RETRY_SCHEDULE` (comma-separated seconds), or the default if it is unset or invalid. */
export function retrySchedule(env: { WEBHOOK_RETRY_SCHEDULE?: string }): number[] {
  const text = env.WEBHOOK_RETRY_SCHEDULE;
  if (text === undefined || text.trim() === "") return DEFAULT_RETRY_SCHEDULE;
  const parts = text.split(",").map((s) => s.trim());
  if (parts.every((p) => /^\d+$/.test(p) && Number(p) > 0)) return parts.map(Number);
  console.error(`webhooks: WEBHOOK_RETRY_SCHEDULE '${text}' is not comma-separated positive seconds; using the default`);
  return DEFAULT_RETRY_SCHEDULE;
}

/** A wait of `seconds` ±10%, in whole seconds, at least 1. */
export function withJitter(seconds: number, random = Math.random()): number {
  return Math.max(1, Math.round(seconds * (0.9 + 0.2 * random)));
}

/** Seconds a `Retry-After` value asks for (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Attempts made since the delivery was last (re)started: the position in the retry schedule. */
export function attemptsInCycle(log: AttemptLogEntry[]): number {
  let n = 0;
  for (const e of log) {
    if (e.note === "redelivery requested") n = 0;
    else if (e.attempt !== undefined) n++;
  }
  return n;
}
