/**
 * `GET /v1/models` and `POST /v1/models/{version}/activate`: the registry, and promotion or
 * rollback (of a candidate, a retired version or the shadow model). Monitoring and shadow routes
 * live beside this file (`performance.ts`, `shadow.ts`) and share its helpers.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { and, desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { MODEL_STATUSES, MODEL_TARGETS, models } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { activateVersion, verifyArtifact } from "../../shared/db/registry";
import { invalidateActiveModel } from "../scoring/model-cache";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";

export const ModelStatus = z.enum(MODEL_STATUSES).describe("candidate, active, shadow (scored beside the active model in every rescoring, never tiered) or retired");

export const VersionParam = z.object({ version: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, "is not a model version") });

/** The registry row of `version`, or a 404 problem naming the field. */
export async function requireModelRow(d1: D1Database, version: string): Promise<typeof models.$inferSelect> {
  const row = await db(d1).select().from(models).where(eq(models.version, version)).get();
  if (!row) throw new Problem(404, "model-not-found", `No model version '${version}'.`, [{ field: "version", detail: "not registered; see GET /v1/models" }]);
  return row;
}

const ModelEntry = z.object({
  version: z.string(),
  target: z.enum(MODEL_TARGETS),
  family: z.string().describe("logistic, gbdt, mlp, blend or scorecard"),
  status: ModelStatus,
  metrics: z.record(z.string(), z.unknown()).describe("Hold-out and cross-validation metrics recorded at training (auc, prAuc, brier, ...)"),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  r2Key: z.string(),
  createdAt: z.string(),
  activatedAt: z.string().nullable(),
});

export const ModelList = z.object({ models: z.array(ModelEntry).describe("Newest first") });

export class ListModels extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Model versions with their metrics and status",
    security: bearer,
    request: {
      query: z.object({
        target: z.enum(MODEL_TARGETS).optional(),
        status: ModelStatus.optional(),
      }),
    },
    responses: { "200": { description: "The registry", ...contentJson(ModelList) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const filters = [query.target ? eq(models.target, query.target) : undefined, query.status ? eq(models.status, query.status) : undefined].filter(Boolean);
    const rows = await db(c.env.DB)
      .select()
      .from(models)
      .where(filters.length ? and(...filters) : undefined)
      .orderBy(desc(models.createdAt), desc(models.version));
    return { models: rows };
  }
}

export const Activation = z.object({
  version: z.string(),
  target: z.enum(MODEL_TARGETS),
  status: z.literal("active"),
  previous: z.string().nullable().describe("The version that was active before; activate it to roll back"),
});

export class ActivateModel extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Models"],
    summary: "Make a version the active model of its target (promotion or rollback)",
    description:
      "Checks that the artifact is in R2 and matches its registered sha256, then makes it active; the version active before is retired and returned as `previous`, so rolling back is activating it again. Every activation is recorded with the key that made it (see GET .../changelog). Promoting the shadow model works the same way: it stops being the shadow (rescoring then runs with no shadow until another is set). Every isolate picks the change up within MODEL_POINTER_TTL_MS (5 s). Idempotent.",
    security: bearer,
    request: { params: VersionParam },
    responses: {
      "200": { description: "Activated", ...contentJson(Activation) },
      ...problems(401, 403, 404, 409, 422, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const row = await requireModelRow(c.env.DB, params.version);
    try {
      await verifyArtifact(c.env, row);
    } catch (e) {
      throw new Problem(409, "artifact-integrity", `Refusing to activate ${params.version}: ${(e as Error).message}.`, [{ field: "version", detail: "artifact missing or altered in R2" }]);
    }
    const { previous } = await activateVersion(c.env.DB, row.version, row.target, c.get("principal").keyId);
    invalidateActiveModel(row.target);
    return { version: row.version, target: row.target, status: "active" as const, previous };
  }
}
