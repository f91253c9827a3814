/**
 * D1 storage for Foresight, defined once here. Migrations in `migrations/` are generated
 * from this file by drizzle-kit; request and response schemas derive from these tables.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** A scalar signal value as stored in `features` JSON: numbers, strings, booleans or null (missing). */
export type SignalValue = number | string | boolean | null;
export type Signals = Record<string, SignalValue>;

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

/** A customer account with its current signals. */
export const accounts = sqliteTable(
  "accounts",
  {
    id: text("id").primaryKey(),
    name: text("name"),
    arr: real("arr"),
    renewalDate: text("renewal_date"),
    owner: text("owner"),
    features: text("features", { mode: "json" }).$type<Signals>().notNull().default(sql`'{}'`),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("accounts_owner_idx").on(t.owner)],
);

/** The signals of an account as they stood on a day: one row per account per day (natural key). */
export const signalSnapshots = sqliteTable(
  "signal_snapshots",
  {
    accountId: text("account_id").notNull(),
    asOf: text("as_of").notNull(),
    features: text("features", { mode: "json" }).$type<Signals>().notNull(),
    recordedAt: text("recorded_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.asOf] })],
);

export const OUTCOME_TYPES = ["churned", "renewed", "expanded"] as const;
export type OutcomeType = (typeof OUTCOME_TYPES)[number];

/** What happened to an account: churned, renewed or expanded, on a date, with an amount. */
export const outcomes = sqliteTable(
  "outcomes",
  {
    accountId: text("account_id").notNull(),
    type: text("type", { enum: OUTCOME_TYPES }).notNull(),
    date: text("date").notNull(),
    amount: real("amount"),
    note: text("note"),
    recordedAt: text("recorded_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.type, t.date] })],
);

export const MODEL_STATUSES = ["candidate", "active", "retired"] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

/** Registered model versions; the artifact itself lives in R2 under `r2Key`. */
export const models = sqliteTable(
  "models",
  {
    version: text("version").primaryKey(),
    target: text("target").notNull().default("churn"),
    family: text("family").notNull(),
    r2Key: text("r2_key").notNull(),
    sha256: text("sha256").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    metrics: text("metrics", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: MODEL_STATUSES }).notNull().default("candidate"),
    createdAt: text("created_at").notNull().default(now),
    activatedAt: text("activated_at"),
  },
  (t) => [index("models_target_status_idx").on(t.target, t.status)],
);

/** One row per account per scoring; never updated, so the history is kept. */
export const scores = sqliteTable(
  "scores",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    modelVersion: text("model_version").notNull(),
    churnProbability: real("churn_probability").notNull(),
    intervalLow: real("interval_low"),
    intervalHigh: real("interval_high"),
    confidence: text("confidence"),
    riskTier: text("risk_tier").notNull(),
    drivers: text("drivers", { mode: "json" }).$type<unknown[]>().notNull(),
    imputed: text("imputed", { mode: "json" }).$type<string[]>().notNull(),
    source: text("source").notNull(),
    runId: text("run_id"),
    scoredAt: text("scored_at").notNull().default(now),
  },
  (t) => [index("scores_account_idx").on(t.accountId, t.id)],
);

export const API_SCOPES = ["admin", "score", "ingest", "banner"] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** API keys, stored only as SHA-256 hashes of the secret. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    name: text("name"),
    scopes: text("scopes", { mode: "json" }).$type<ApiScope[]>().notNull(),
    rateLimit: integer("rate_limit").notNull().default(50),
    createdAt: text("created_at").notNull().default(now),
    revokedAt: text("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.keyHash)],
);
