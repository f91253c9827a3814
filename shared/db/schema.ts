/**
 * D1 storage for Foresight, defined once here. Migrations in `migrations/` are generated
 * from this file by drizzle-kit; request and response schemas derive from these tables.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { now } from "./columns";
import { type HealthAt, TRENDS } from "../cs/trajectory";

/** A scalar signal value as stored in `features` JSON: numbers, strings, booleans or null (missing). */
export type SignalValue = number | string | boolean | null;
export type Signals = Record<string, SignalValue>;


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
    // The latest score, copied here in the same transaction that appends it to `scores`, so the
    // worklist and portfolio read one row per account and sort on an index.
    scoreId: integer("score_id"),
    churnProbability: real("churn_probability"),
    riskTier: text("risk_tier"),
    tier: text("tier"),
    expansionProbability: real("expansion_probability"),
    scoredAt: text("scored_at"),
    /** Health (0–100) of the latest score, and its trajectory's trend and act-by date (shared/cs/trajectory.ts). */
    health: integer("health"),
    trend: text("trend", { enum: TRENDS }),
    actBy: text("act_by"),
    /**
     * Weekly health points (the latest score of each week, newest last, at most HISTORY_WEEKS):
     * what a trajectory needs, kept on the account so the retention of `scores` cannot thin it.
     */
    healthHistory: text("health_history", { mode: "json" }).$type<HealthAt[]>().notNull().default(sql`'[]'`),
    /** ARR × churn probability of the latest score; 0 before the first score or without ARR. */
    arrAtRisk: real("arr_at_risk").generatedAlwaysAs(sql`coalesce(arr, 0) * coalesce(churn_probability, 0)`, { mode: "virtual" }),
  },
  (t) => [
    index("accounts_owner_idx").on(t.owner),
    index("accounts_arr_at_risk_idx").on(t.arrAtRisk, t.id),
    index("accounts_tier_idx").on(t.tier, t.arrAtRisk, t.id),
    index("accounts_act_by_idx").on(t.actBy, t.id),
  ],
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

/** What a model predicts: churn and expansion (classifiers) and health trajectories. */
export const MODEL_TARGETS = ["churn", "expansion", "trajectory"] as const;
export type ModelTarget = (typeof MODEL_TARGETS)[number];

/** `shadow`: scored beside the active model in every rescoring, never tiered or notified. */
export const MODEL_STATUSES = ["candidate", "active", "shadow", "retired"] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

/** Registered model versions; the artifact itself lives in R2 under `r2Key`. */
export const models = sqliteTable(
  "models",
  {
    version: text("version").primaryKey(),
    target: text("target", { enum: MODEL_TARGETS }).notNull().default("churn"),
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
    /** Portfolio tier: the risk tier, except that an expansion-ready green account is blue. */
    tier: text("tier"),
    expansionProbability: real("expansion_probability"),
    expansionReady: integer("expansion_ready", { mode: "boolean" }),
    /** `model` (a trained expansion model) or `scorecard` (cold-start priors). */
    expansionSource: text("expansion_source"),
    expansionVersion: text("expansion_version"),
    expansionReason: text("expansion_reason"),
    /** round(100 × (1 − churn probability)): 100 is healthiest; the red tier is at or below 100 × (1 − red threshold). */
    health: integer("health"),
    /** The 90-day health forecast and its 90% interval, its trend and act-by date (rescoring's scores; null elsewhere). */
    health90: real("health_90"),
    health90Low: real("health_90_low"),
    health90High: real("health_90_high"),
    trend: text("trend", { enum: TRENDS }),
    actBy: text("act_by"),
  },
  (t) => [
    index("scores_account_idx").on(t.accountId, t.id),
    index("scores_run_idx").on(t.runId),
    // A rescoring run scores each account once, however often a chunk is retried.
    uniqueIndex("scores_run_account_idx").on(t.runId, t.accountId).where(sql`run_id IS NOT NULL`),
  ],
);

export const RUN_STATUSES = ["queued", "running", "completed", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * Rescoring runs. Each completed run records the portfolio it left behind, so
 * `GET /v1/portfolio` can say what changed since the previous rescoring.
 */
export const rescoreRuns = sqliteTable(
  "rescore_runs",
  {
    id: text("id").primaryKey(),
    trigger: text("trigger").notNull(),
    status: text("status", { enum: RUN_STATUSES }).notNull().default("queued"),
    modelVersion: text("model_version"),
    accounts: integer("accounts").notNull().default(0),
    scored: integer("scored").notNull().default(0),
    tierChanges: integer("tier_changes").notNull().default(0),
    portfolio: text("portfolio", { mode: "json" }).$type<Record<string, unknown>>(),
    error: text("error"),
    /** Chunks the run was split into (by account id range), and how many have finished. */
    chunksTotal: integer("chunks_total").notNull().default(0),
    chunksDone: integer("chunks_done").notNull().default(0),
    /** The shadow model scored beside the active one, if any. */
    shadowVersion: text("shadow_version"),
    createdAt: text("created_at").notNull().default(now),
    startedAt: text("started_at"),
    finishedAt: text("finished_at"),
  },
  (t) => [index("rescore_runs_status_idx").on(t.status, t.finishedAt)],
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

export const CHUNK_STATUSES = ["queued", "completed"] as const;

/** One id-range chunk of a rescoring run; finishing it is recorded once, however often it is retried. */
export const rescoreChunks = sqliteTable(
  "rescore_chunks",
  {
    runId: text("run_id").notNull(),
    chunk: integer("chunk").notNull(),
    /** Accounts with fromId <= id < toId (toId null: to the end). */
    fromId: text("from_id").notNull(),
    toId: text("to_id"),
    status: text("status", { enum: CHUNK_STATUSES }).notNull().default("queued"),
    scored: integer("scored").notNull().default(0),
    tierChanges: integer("tier_changes").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    finishedAt: text("finished_at"),
  },
  (t) => [primaryKey({ columns: [t.runId, t.chunk] })],
);

export const EVENT_TYPES = [
  "account.risk_tier_changed",
  "account.expansion_ready",
  "account.trend_changed",
  "account.playbook_recommended",
  "insights.weekly",
  "export.ready",
  "model.performance_degraded",
  "model.drift_detected",
  "rescore.completed",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Events for CS tools. The id is derived from what happened (run, account, change), so one
 * change is one event however often the work behind it is retried; deliveries reuse it.
 */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    type: text("type", { enum: EVENT_TYPES }).notNull(),
    accountId: text("account_id"),
    runId: text("run_id"),
    modelVersion: text("model_version"),
    payload: text("payload", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("events_type_idx").on(t.type, t.createdAt), index("events_account_idx").on(t.accountId, t.createdAt)],
);

export const WEBHOOK_KINDS = ["standard", "slack"] as const;
export const ENDPOINT_STATUSES = ["enabled", "disabled"] as const;

/** Webhook endpoints: Standard Webhooks receivers, or Slack incoming webhooks (`kind: slack`). */
export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  description: text("description"),
  kind: text("kind", { enum: WEBHOOK_KINDS }).notNull().default("standard"),
  /** Event types delivered here; ["*"] for all. */
  eventTypes: text("event_types", { mode: "json" }).$type<string[]>().notNull(),
  /** `whsec_` + base64 key; HMAC-SHA256 signing secret. */
  secret: text("secret").notNull(),
  status: text("status", { enum: ENDPOINT_STATUSES }).notNull().default("enabled"),
  disabledReason: text("disabled_reason"),
  /** Deliveries in a row that ended dead; reset by any success. */
  consecutiveFailures: integer("consecutive_failures").notNull().default(0),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
});

export const DELIVERY_STATUSES = ["pending", "succeeded", "retrying", "failed", "dead"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One line of a delivery's log (`attempt_log`): an attempt (with `attempt`) or a note (redelivery,
 * dead-lettered, ...). The column's type and the API's schema both come from this.
 */
export const AttemptLogEntry = z.object({
  at: z.string(),
  attempt: z.number().int().optional().describe("Attempt number; absent on notes"),
  status: z.number().int().nullable().describe("HTTP status, or null for a network error, a timeout or a note"),
  ms: z.number(),
  error: z.string().optional(),
  note: z.string().optional().describe('"redelivery requested", "dead-lettered", "endpoint disabled", "url refused"'),
});
export type AttemptLogEntry = z.infer<typeof AttemptLogEntry>;

/** One event to one endpoint, with its attempts: the delivery log. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    /** Every attempt: when, HTTP status (or null), milliseconds, error. */
    attemptLog: text("attempt_log", { mode: "json" }).$type<AttemptLogEntry[]>().notNull().default(sql`'[]'`),
    nextAttemptAt: text("next_attempt_at"),
    enqueuedAt: text("enqueued_at"),
    deliveredAt: text("delivered_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event_idx").on(t.endpointId, t.eventId),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_status_idx").on(t.status, t.nextAttemptAt),
  ],
);

/** One bin of a reliability table: the scores with a probability in [from, to), and how many churned. */
export const CalibrationBin = z.object({
  from: z.number(),
  to: z.number(),
  n: z.number().int(),
  meanPredicted: z.number(),
  observed: z.number().describe("Share of these accounts that churned within the horizon"),
});
export type CalibrationBin = z.infer<typeof CalibrationBin>;

/** Accuracy and drift of a model version, computed by the monitoring cron: a time series. */
export const modelPerformance = sqliteTable(
  "model_performance",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    modelVersion: text("model_version").notNull(),
    computedAt: text("computed_at").notNull().default(now),
    /** Scores evaluated: those older than the horizon whose outcome is known. */
    scoresEvaluated: integer("scores_evaluated").notNull().default(0),
    positives: integer("positives").notNull().default(0),
    auc: real("auc"),
    precisionAtRed: real("precision_at_red"),
    recallAtRed: real("recall_at_red"),
    f1AtRed: real("f1_at_red"),
    brier: real("brier"),
    calibration: text("calibration", { mode: "json" }).$type<CalibrationBin[]>(),
    /** Population stability index per feature against the training reference. */
    featurePsi: text("feature_psi", { mode: "json" }).$type<Record<string, number>>(),
    maxFeaturePsi: real("max_feature_psi"),
    predictionPsi: real("prediction_psi"),
    alerts: text("alerts", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    /** The model's status when computed (active, shadow, retired, candidate). */
    modelStatus: text("model_status"),
    /** Days after a score in which a churn counts (the model's horizon), and the red threshold used. */
    horizonDays: integer("horizon_days"),
    redThreshold: real("red_threshold"),
    /** Accounts whose current signals were compared with the training reference. */
    driftAccounts: integer("drift_accounts").notNull().default(0),
    /** Why figures are null (too few evaluable scores, no positives, no reference, ...). */
    notes: text("notes", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  },
  (t) => [index("model_performance_version_idx").on(t.modelVersion, t.computedAt)],
);

/** Scores from a shadow model, beside the active model's in the same run: never tiered or notified. */
export const shadowScores = sqliteTable(
  "shadow_scores",
  {
    runId: text("run_id").notNull(),
    accountId: text("account_id").notNull(),
    modelVersion: text("model_version").notNull(),
    churnProbability: real("churn_probability").notNull(),
    scoredAt: text("scored_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.runId, t.accountId, t.modelVersion] }), index("shadow_scores_version_idx").on(t.modelVersion, t.runId)],
);


// Playbooks, interventions, the holdout, feedback, adoption and insights (issue 11).
export * from "./cs-schema";
// Model activations and CRM exports (issue 12).
export * from "./revenue-schema";
