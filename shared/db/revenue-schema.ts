/**
 * D1 storage for the analysts' and CS operations' side (issue 12): who activated which model when
 * (the model's evolution log reads it), and the daily CRM exports written to R2. Part of the one
 * schema (re-exported by schema.ts).
 */
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now } from "./columns";

/** Every activation of a model version, in order: what `GET /v1/models/{version}/changelog` reports as "who and when". */
export const modelActivations = sqliteTable(
  "model_activations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    version: text("version").notNull(),
    target: text("target").notNull(),
    /** The version it replaced as active, if any. */
    previousVersion: text("previous_version"),
    /** The API key id that activated it (`POST /v1/models/{version}/activate`), or the CLI that did (`publish-model`, `start`). */
    activatedBy: text("activated_by").notNull(),
    activatedAt: text("activated_at").notNull().default(now),
  },
  (t) => [index("model_activations_version_idx").on(t.version, t.activatedAt), index("model_activations_target_idx").on(t.target, t.activatedAt)],
);

export const EXPORT_STATUSES = ["writing", "ready", "failed"] as const;

/** One daily CRM export: the current scores of every account as gzipped CSV in R2 under `exports/{day}/scores.csv.gz`. */
export const scoreExports = sqliteTable("score_exports", {
  day: text("day").primaryKey(),
  r2Key: text("r2_key").notNull(),
  status: text("status", { enum: EXPORT_STATUSES }).notNull().default("writing"),
  rows: integer("rows").notNull().default(0),
  bytes: integer("bytes").notNull().default(0),
  sha256: text("sha256"),
  /** The rescoring run whose scores it holds, when it followed one. */
  runId: text("run_id"),
  eventId: text("event_id"),
  error: text("error"),
  createdAt: text("created_at").notNull().default(now),
  finishedAt: text("finished_at"),
});
