/**
 * The model's evolution log read from the registry: a version against the one before it (the one
 * it replaced when first activated, else the previous version of its target by publication), with
 * what the two artifacts say about their training (`shared/model/changelog.ts`), monitoring's
 * figures while the version was active and every activation (`model_activations`). The Worker's
 * `GET /v1/models/{version}/changelog` and the evaluation report's "Model history" both call it.
 */
import { and, count, desc, eq } from "drizzle-orm";
import { describeDiff, diffVersions, type VersionDiff, type VersionFacts, versionFacts } from "../model/changelog";
import { fetchAnyArtifact, type ModelBindings } from "./registry";
import type { SqlPick } from "./rows";
import { modelActivations, modelPerformance, models } from "./schema";
import { db } from "./write";

export type PerformanceRow = typeof modelPerformance.$inferSelect;

/** How the previous version was chosen: the one this version replaced when first activated, or the one published before it. */
export const PREVIOUS_BASES = ["replaced", "created-before"] as const;

/** A version against the one before it, with its monitoring and activations. */
export interface Changelog extends VersionDiff {
  previousBasis: (typeof PREVIOUS_BASES)[number] | null;
  /** model_performance computed while this version was the active model: how many, and the newest. */
  monitoring: { count: number; latest: PerformanceRow | null };
  /** Every activation of this version, newest first. */
  activations: { at: string; by: string; previousVersion: string | null }[];
  /** Anything that could not be read (e.g. the previous version's artifact missing from R2). */
  notes: string[];
  summary: string;
}

/**
 * The changelog of `version`, or null when it is not registered. Throws when the version's own
 * artifact is missing or altered in R2 (the previous one's only adds a note).
 *
 * @example
 *   const log = await versionChangelog(env, "churn-20261122-141500-3fa1c2");
 *   log?.metrics.deltas?.auc; // the change in hold-out ROC-AUC against log.previous
 */
export async function versionChangelog(env: ModelBindings, version: string): Promise<Changelog | null> {
  const d = db(env.DB);
  const row = await d.select().from(models).where(eq(models.version, version)).get();
  if (!row) return null;
  const activations = await d
    .select({ at: modelActivations.activatedAt, by: modelActivations.activatedBy, previousVersion: modelActivations.previousVersion })
    .from(modelActivations)
    .where(eq(modelActivations.version, version))
    .orderBy(desc(modelActivations.activatedAt), desc(modelActivations.id));
  const { previous, basis } = await previousOf(env.DB, row, activations.at(-1)?.previousVersion ?? null);
  const current = versionFacts(await fetchAnyArtifact(env, row));
  const notes: string[] = [];
  let before: VersionFacts | null = null;
  if (previous) {
    try {
      before = versionFacts(await fetchAnyArtifact(env, previous));
    } catch (e) {
      notes.push(`The previous version ${previous.version} could not be read: ${(e as Error).message}.`);
    }
  }
  const diff = diffVersions(current, before);
  const whileActive = and(eq(modelPerformance.modelVersion, version), eq(modelPerformance.modelStatus, "active"));
  const [tally, latest] = await Promise.all([
    d.select({ n: count() }).from(modelPerformance).where(whileActive).get(),
    d.select().from(modelPerformance).where(whileActive).orderBy(desc(modelPerformance.computedAt), desc(modelPerformance.id)).limit(1).get(),
  ]);
  return {
    ...diff,
    previous: previous?.version ?? null,
    previousBasis: previous ? basis : null,
    monitoring: { count: tally?.n ?? 0, latest: latest ?? null },
    activations,
    notes,
    summary: before || !previous ? describeDiff(diff) : `${version} against ${previous.version}: ${notes[0]}`,
  };
}

type ModelRow = typeof models.$inferSelect;

/** The version `row` replaced at its first activation if that is still registered, else the one of its target published just before it. */
async function previousOf(d1: D1Database, row: ModelRow, replaced: string | null): Promise<{ previous: ModelRow | null; basis: Changelog["previousBasis"] }> {
  const d = db(d1);
  if (replaced) {
    const found = await d.select().from(models).where(eq(models.version, replaced)).get();
    if (found) return { previous: found, basis: "replaced" };
  }
  // Publication order: created_at, then insertion order for versions published in the same millisecond.
  const earlier = await d1
    .prepare(
      `SELECT version FROM models WHERE target = ?1 AND version <> ?2
       AND (created_at < ?3 OR (created_at = ?3 AND rowid < (SELECT rowid FROM models WHERE version = ?2)))
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .bind(row.target, row.version, row.createdAt)
    .first<SqlPick<typeof models, "version">>();
  if (!earlier) return { previous: null, basis: null };
  return { previous: (await d.select().from(models).where(eq(models.version, earlier.version)).get()) ?? null, basis: "created-before" };
}

/**
 * The changelog of every registered version (of `target`, if given), newest first; a version whose
 * artifact cannot be read is listed with the reason instead.
 *
 * @example
 *   for (const entry of await registryHistory(env, "churn")) console.log("error" in entry ? entry.error : entry.summary);
 */
export async function registryHistory(env: ModelBindings, target?: ModelRow["target"]): Promise<(Changelog | { version: string; error: string })[]> {
  const rows = (
    await env.DB.prepare("SELECT version FROM models WHERE ?1 IS NULL OR target = ?1 ORDER BY created_at DESC, rowid DESC")
      .bind(target ?? null)
      .all<SqlPick<typeof models, "version">>()
  ).results;
  const out: (Changelog | { version: string; error: string })[] = [];
  for (const { version } of rows) {
    try {
      const log = await versionChangelog(env, version);
      if (log) out.push(log);
    } catch (e) {
      out.push({ version, error: (e as Error).message });
    }
  }
  return out;
}
