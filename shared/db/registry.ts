/**
 * The model registry: artifacts in R2 under `models/{version}/model.json` (immutable, with
 * their sha256 as custom metadata) and one row per version in D1's `models` table. Used by the
 * publish CLI in Node (through wrangler's platform proxy) and by the Worker. It stores every
 * artifact format, told apart by its tag: `foresight-model` (churn and expansion) and
 * `foresight-trajectory` (health trajectories).
 */
import { and, eq, sql } from "drizzle-orm";
import { db } from "./write";
import type { SqlPick } from "./rows";
import { type modelActivations, type ModelTarget, models } from "./schema";
import { sha256Hex } from "../hash";
import { type ModelArtifact, parseArtifact } from "../model/artifact";
import { parseTrajectoryArtifact, TRAJECTORY_FORMAT, type TrajectoryArtifact } from "../model/trajectory";

export interface ModelBindings {
  DB: D1Database;
  MODELS: R2Bucket;
}

export function artifactKey(version: string): string {
  return `models/${version}/model.json`;
}

/** What the registry records about an artifact of any format. */
export interface ArtifactRegistration {
  version: string;
  target: ModelTarget;
  family: string;
  metrics: Record<string, unknown>;
}

/**
 * Parses a model.json document by its format tag (a trajectory artifact, or a churn or
 * expansion model), refusing anything either parser refuses, and says how to register it.
 *
 * @example
 *   registrationOf(JSON.parse(text)); // { version: "trajectory-20261122-...", target: "trajectory", family: "gbdt", metrics }
 */
export function registrationOf(json: unknown): ArtifactRegistration {
  if ((json as { format?: unknown } | null)?.format === TRAJECTORY_FORMAT) {
    const t = parseTrajectoryArtifact(json);
    // Every horizon is tree ensembles (the point forecast and, for quantile intervals, its bounds).
    return { version: t.version, target: t.target, family: "gbdt", metrics: t.metrics };
  }
  const a = parseArtifact(json);
  return { version: a.version, target: a.target, family: a.model.family, metrics: a.metrics };
}

/** The registered version after publishing, and whether these bytes were there already. */
export type PublishResult = Pick<typeof models.$inferSelect, "version" | "r2Key" | "sha256" | "sizeBytes"> & { status: "candidate" | "active"; alreadyPublished: boolean };

/**
 * Stores an artifact in R2 and registers it in D1, optionally making it the active model of
 * its target (recorded in `model_activations` as done by `activatedBy`, default
 * `publish-model`). Refuses bytes whose sha256 differs from `expectedSha256`, and a version that
 * exists already with other content; publishing the same bytes again is a no-op.
 */
export async function publishArtifact(
  env: ModelBindings,
  bytes: Uint8Array,
  options: { activate?: boolean; expectedSha256?: string; activatedBy?: string } = {},
): Promise<PublishResult> {
  const sha256 = await sha256Hex(bytes);
  if (options.expectedSha256 && options.expectedSha256 !== sha256) {
    throw new Error(`artifact sha256 ${sha256} does not match the expected ${options.expectedSha256}; refusing to publish`);
  }
  const artifact = registrationOf(JSON.parse(new TextDecoder().decode(bytes)));
  const d = db(env.DB);
  const r2Key = artifactKey(artifact.version);
  const existing = await d.select().from(models).where(eq(models.version, artifact.version)).get();
  if (existing && existing.sha256 !== sha256) {
    throw new Error(`version ${artifact.version} is already registered with sha256 ${existing.sha256}; versions are immutable`);
  }
  if (!existing) {
    await env.MODELS.put(r2Key, bytes, {
      httpMetadata: { contentType: "application/json" },
      customMetadata: { sha256, version: artifact.version, target: artifact.target },
      sha256,
    });
    await d.insert(models).values({
      version: artifact.version,
      target: artifact.target,
      family: artifact.family,
      r2Key,
      sha256,
      sizeBytes: bytes.byteLength,
      metrics: artifact.metrics,
      status: "candidate",
    });
  }
  if (options.activate) await activateVersion(env.DB, artifact.version, artifact.target, options.activatedBy ?? "publish-model");
  const row = await d.select({ status: models.status }).from(models).where(eq(models.version, artifact.version)).get();
  return { version: artifact.version, r2Key, sha256, sizeBytes: bytes.byteLength, status: row?.status === "active" ? "active" : "candidate", alreadyPublished: Boolean(existing) };
}

/**
 * Makes `version` the one active model of its target; the previous active one is retired. In the
 * same transaction the activation is appended to `model_activations` with who did it (an API key
 * id, or the CLI: `publish-model`, `start`) and the version it replaced. Activating the version
 * that is already active changes nothing and records nothing. Returns the version it replaced.
 *
 * @example
 *   const { previous } = await activateVersion(env.DB, "churn-20261122-141500-3fa1c2", "churn", principal.keyId);
 */
export async function activateVersion(d1: D1Database, version: string, target: ModelTarget, activatedBy: string): Promise<{ previous: string | null }> {
  const stamp = new Date().toISOString();
  const [recorded] = await d1.batch([
    // Before the update below retires it: the version this one replaces.
    d1
      .prepare(
        `INSERT INTO model_activations (version, target, previous_version, activated_by, activated_at)
         SELECT ?1, ?2, (SELECT version FROM models WHERE target = ?2 AND status = 'active' AND version <> ?1 ORDER BY activated_at DESC LIMIT 1), ?3, ?4
         WHERE NOT EXISTS (SELECT 1 FROM models WHERE version = ?1 AND status = 'active')
         RETURNING previous_version`,
      )
      .bind(version, target, activatedBy, stamp),
    d1.prepare("UPDATE models SET status = 'retired' WHERE target = ?1 AND status = 'active' AND version <> ?2").bind(target, version),
    d1.prepare("UPDATE models SET status = 'active', activated_at = ?2 WHERE version = ?1 AND status <> 'active'").bind(version, stamp),
  ]);
  return { previous: (recorded.results[0] as SqlPick<typeof modelActivations, "previous_version"> | undefined)?.previous_version ?? null };
}

/** What loading a version's artifact needs from its `models` row. */
export type ActiveModelRow = Pick<typeof models.$inferSelect, "version" | "r2Key" | "sha256">;

export async function activeModelRow(d1: D1Database, target: ModelTarget = "churn"): Promise<ActiveModelRow | undefined> {
  return db(d1)
    .select({ version: models.version, r2Key: models.r2Key, sha256: models.sha256 })
    .from(models)
    .where(and(eq(models.target, target), eq(models.status, "active")))
    .orderBy(sql`${models.activatedAt} DESC`)
    .get();
}

/** A version's model.json from R2 as JSON, its bytes checked against the registered sha256. */
async function fetchVerified(env: ModelBindings, row: ActiveModelRow): Promise<unknown> {
  const object = await env.MODELS.get(row.r2Key);
  if (!object) throw new Error(`model ${row.version} is registered but ${row.r2Key} is missing from R2`);
  const bytes = new Uint8Array(await object.arrayBuffer());
  const sha = await sha256Hex(bytes);
  if (sha !== row.sha256) throw new Error(`model ${row.version}: R2 object sha256 ${sha} does not match the registered ${row.sha256}`);
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * Reads a version's artifact of any format from R2, checked like `fetchArtifact`.
 *
 * @example
 *   const artifact = await fetchAnyArtifact(env, row); // a churn, expansion or trajectory model
 */
export async function fetchAnyArtifact(env: ModelBindings, row: ActiveModelRow): Promise<ModelArtifact | TrajectoryArtifact> {
  const json = await fetchVerified(env, row);
  return (json as { format?: unknown } | null)?.format === TRAJECTORY_FORMAT ? parseTrajectoryArtifact(json) : parseArtifact(json);
}

/** Reads a churn or expansion artifact from R2 and checks its bytes against the registered sha256. */
export async function fetchArtifact(env: ModelBindings, row: ActiveModelRow): Promise<ModelArtifact> {
  return parseArtifact(await fetchVerified(env, row));
}

/**
 * Reads a trajectory artifact from R2, checked like `fetchArtifact`.
 *
 * @example
 *   const row = await activeModelRow(env.DB, "trajectory");
 *   const model = row ? new TrajectoryModel(await fetchTrajectoryArtifact(env, row)) : null;
 */
export async function fetchTrajectoryArtifact(env: ModelBindings, row: ActiveModelRow): Promise<TrajectoryArtifact> {
  return parseTrajectoryArtifact(await fetchVerified(env, row));
}

/**
 * Checks a version's R2 artifact of any format (bytes against the sha256, then its parser), as
 * activation should before making it active.
 *
 * @example
 *   await verifyArtifact(env, row); // throws if missing, altered or malformed
 */
export async function verifyArtifact(env: ModelBindings, row: ActiveModelRow): Promise<ArtifactRegistration> {
  return registrationOf(await fetchVerified(env, row));
}
