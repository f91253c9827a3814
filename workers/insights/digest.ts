/**
 * Building, storing and sending the weekly insights digest (README "Insights"). One digest per ISO
 * week in `insights`: the weekly cron builds the week that just ended; `POST /v1/insights/generate`
 * builds any week now. A digest built after its week ended is final: it is sent once as the
 * `insights.weekly` event (id derived from the week) in the same D1 transaction that stores it, and
 * building it again returns it unchanged. One built while its week is still running is a preview:
 * stored and served, never sent, and replaced by the next build.
 */
import { desc, eq, lt } from "drizzle-orm";
import { addDays } from "../../shared/days";
import type { SqlPick } from "../../shared/db/rows";
import { insights, modelPerformance } from "../../shared/db/schema";
import { db, runBatch, today } from "../../shared/db/write";
import { adoptionAsOf } from "../adoption/adoption";
import { impactReport } from "../impact/report";
import { enqueuePendingDeliveries, eventId, eventStatements } from "../webhooks/outbox";
import { EXPANSION_READY_SQL, MODEL_HEALTH_SQL, RED_DRIVERS_SQL, TIER_MOVES_LIST_SQL, TIER_MOVES_SQL } from "./queries";
import type { Digest, Section } from "./schemas";
import {
  adoptionSection,
  expansionReadySection,
  impactSection,
  modelHealthSection,
  type MovedRow,
  type MovePairRow,
  type ReadyRow,
  redDriversOf,
  redDriversSection,
  type RedDriverRow,
  tierMovesSection,
} from "./sections";
import { type WeekRange, weekJustEnded, weekRange } from "./weeks";

/** Days of holdout assignments the impact section covers, up to the week's end. */
export const IMPACT_DAYS = 365;

type InsightsRow = typeof insights.$inferSelect;

/** When a week ends: the Monday after it, 00:00 UTC. */
const endOf = (range: WeekRange) => `${range.next}T00:00:00.000Z`;

/** A stored digest as the API serves it. */
export function digestView(row: InsightsRow): Digest {
  const range = weekRange(row.week);
  return {
    week: row.week,
    generatedAt: row.generatedAt,
    complete: range !== null && row.generatedAt >= endOf(range),
    eventId: row.eventId,
    sections: row.sections as Section[],
  };
}

/** The stored digest of `week`, or the latest one when no week is given; null when there is none. */
export async function storedDigest(env: Pick<Env, "DB">, week?: string): Promise<Digest | null> {
  const d = db(env.DB);
  const [row] = week ? await d.select().from(insights).where(eq(insights.week, week)).limit(1) : await d.select().from(insights).orderBy(desc(insights.week)).limit(1);
  return row ? digestView(row) : null;
}

/** The sections of `range` from D1 as of `asOf` (the week's Sunday once it has ended, else today) and `cutoff` (its end, or now). */
async function buildSections(env: Env, range: WeekRange, asOf: string, cutoff: string): Promise<{ sections: Section[]; modelVersion: string | null }> {
  const [pairs, moved, red, ready, health, previous] = await env.DB.batch([
    env.DB.prepare(TIER_MOVES_SQL).bind(range.start, range.next),
    env.DB.prepare(TIER_MOVES_LIST_SQL).bind(range.start, range.next),
    env.DB.prepare(RED_DRIVERS_SQL),
    env.DB.prepare(EXPANSION_READY_SQL).bind(range.start, range.next),
    env.DB.prepare(MODEL_HEALTH_SQL).bind(cutoff),
    env.DB.prepare("SELECT week, sections FROM insights WHERE week < ?1 ORDER BY week DESC LIMIT 1").bind(range.week),
  ]);
  const model = health.results[0] as { version: string; id: number | null } | undefined;
  const [entry] = model?.id ? await db(env.DB).select().from(modelPerformance).where(eq(modelPerformance.id, model.id)).limit(1) : [];
  const before = previous.results[0] as SqlPick<typeof insights, "week" | "sections"> | undefined;
  const beforeDrivers = before ? redDriversOf(JSON.parse(before.sections) as unknown[]) : null;
  const [impact, adoption] = await Promise.all([impactReport(env, { from: addDays(asOf, -IMPACT_DAYS), to: asOf, today: asOf }), adoptionAsOf(env, asOf)]);
  return {
    modelVersion: model?.version ?? null,
    sections: [
      tierMovesSection(range.week, pairs.results as unknown as MovePairRow[], moved.results as unknown as MovedRow[]),
      redDriversSection(red.results as unknown as RedDriverRow[], before && beforeDrivers ? { week: before.week, section: beforeDrivers } : null),
      expansionReadySection(range.week, ready.results as unknown as ReadyRow[]),
      impactSection(impact),
      adoptionSection(adoption),
      modelHealthSection(model?.version ?? null, entry ?? null),
    ],
  };
}

export interface BuildResult {
  digest: Digest;
  /** False when the week's final digest was already stored and is returned unchanged. */
  built: boolean;
}

/**
 * Builds the digest of `week` as of `now`, stores it, and (once the week has ended) sends it as
 * `insights.weekly` through the outbox. Idempotent: a week's final digest is built, stored and sent
 * once, however often this runs.
 *
 * @example
 *   const { digest, built } = await buildDigest(env, "2026-W49");
 */
export async function buildDigest(env: Env, week: string, now = new Date()): Promise<BuildResult> {
  const range = weekRange(week);
  if (!range) throw new Error(`'${week}' is not an ISO week`);
  const end = endOf(range);
  const stored = await storedDigest(env, week);
  if (stored?.complete) {
    // Sent in the transaction that stored it; queue anything a crash left unqueued.
    if (stored.eventId) await enqueuePendingDeliveries(env, [stored.eventId]);
    return { digest: stored, built: false };
  }
  const generatedAt = now.toISOString();
  const complete = generatedAt >= end;
  const { sections, modelVersion } = await buildSections(env, range, complete ? range.end : today(now), complete ? end : generatedAt);
  const id = complete ? await eventId("insights.weekly", week) : null;
  const digest: Digest = { week, generatedAt, complete, eventId: id, sections };
  const d = db(env.DB);
  await runBatch(d, [
    // A final digest is never replaced, even by a build that raced this one.
    d
      .insert(insights)
      .values({ week, generatedAt, sections, eventId: id })
      .onConflictDoUpdate({ target: insights.week, set: { generatedAt, sections, eventId: id }, setWhere: lt(insights.generatedAt, end) }),
    ...(id ? eventStatements(d, [{ id, type: "insights.weekly", accountId: null, runId: null, modelVersion, payload: digest }]) : []),
  ]);
  if (id) await enqueuePendingDeliveries(env, [id]);
  const [row] = await d.select().from(insights).where(eq(insights.week, week)).limit(1);
  return { digest: digestView(row), built: true };
}

/**
 * The weekly cron job (Monday 01:00 UTC, after Sunday's rescoring and monitoring and before
 * Monday's): builds and sends the digest of the ISO week that just ended.
 */
export async function runWeeklyInsights(env: Env, now: Date): Promise<void> {
  const { digest, built } = await buildDigest(env, weekJustEnded(now), now);
  console.log(`insights: ${digest.week} ${built ? `built and sent as ${digest.eventId}` : "was already built and sent"}`);
}
