/**
 * D1 storage for what CS teams do with the scores: playbooks, the randomized holdout, interventions,
 * CSM feedback, adoption and the weekly insights. Part of the one schema (re-exported by schema.ts).
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { z } from "zod";
import { now } from "./columns";
import { RISK_TIERS } from "../tiers";


/** The portfolio tiers a playbook can apply to: red (at risk), yellow (watch) and blue (expansion-ready). */
export const PLAYBOOK_TIERS = ["red", "yellow", "blue"] as const;
export type PlaybookTier = (typeof PLAYBOOK_TIERS)[number];

/** One step of a playbook: what to do, and how many days after the playbook starts it is due. */
export const PlaybookStep = z.object({
  title: z.string().min(1).max(300),
  dueDays: z.number().int().min(0).max(365).describe("Days after the start on which the step is due"),
});
export type PlaybookStep = z.infer<typeof PlaybookStep>;

/** An outreach email with `{{placeholders}}` (see README "Playbooks"); a missing value renders as nothing. */
export const PlaybookTemplate = z.object({ subject: z.string().max(300), body: z.string().max(20_000) });
export type PlaybookTemplate = z.infer<typeof PlaybookTemplate>;

/**
 * Playbooks, versioned: an edit appends a version, so an intervention keeps the text it used.
 * A playbook's current version is its newest; deleting one retires it (`retiredAt` on every version).
 */
export const playbooks = sqliteTable(
  "playbooks",
  {
    id: text("id").notNull(),
    version: integer("version").notNull(),
    name: text("name").notNull(),
    tier: text("tier", { enum: PLAYBOOK_TIERS }).notNull(),
    /** The dominant driver it applies to (a model column or a CS signal such as `logins`), or null for the whole tier. */
    driver: text("driver"),
    /** Days before the account's forecast turns red (or its renewal) by which to start: sets `actBy`. */
    leadDays: integer("lead_days").notNull(),
    steps: text("steps", { mode: "json" }).$type<PlaybookStep[]>().notNull(),
    template: text("template", { mode: "json" }).$type<PlaybookTemplate>().notNull(),
    retiredAt: text("retired_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.id, t.version] }), index("playbooks_tier_idx").on(t.tier, t.driver)],
);

export const ARMS = ["treated", "control"] as const;
export type Arm = (typeof ARMS)[number];

/**
 * The randomized holdout: when an account newly enters a tier with a playbook, it is assigned once
 * (a salted hash of account, tier and period) to the treated arm or the control group, and the row
 * is never changed. The figures at assignment are kept: impact compares arms on them.
 */
export const holdoutAssignments = sqliteTable(
  "holdout_assignments",
  {
    accountId: text("account_id").notNull(),
    tier: text("tier", { enum: PLAYBOOK_TIERS }).notNull(),
    /** The calendar month of entry, YYYY-MM. */
    period: text("period").notNull(),
    arm: text("arm", { enum: ARMS }).notNull(),
    /** The playbook that applied (for the control group: the one it would have had). */
    playbookId: text("playbook_id"),
    playbookVersion: integer("playbook_version"),
    owner: text("owner"),
    arr: real("arr"),
    /** The calibrated churn probability at assignment: the covariate of the adjusted uplift. */
    churnProbability: real("churn_probability"),
    scoreId: integer("score_id"),
    /** Days after assignment in which a churn counts; the control group is held out for as long. */
    windowDays: integer("window_days").notNull(),
    assignedAt: text("assigned_at").notNull().default(now),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.tier, t.period] }),
    index("holdout_assigned_idx").on(t.assignedAt),
    index("holdout_playbook_idx").on(t.playbookId, t.assignedAt),
    index("holdout_owner_idx").on(t.owner, t.assignedAt),
  ],
);

export const INTERVENTION_STATUSES = ["open", "completed", "cancelled"] as const;
export const INTERVENTION_RESULTS = ["retained", "expanded", "churned", "no_change"] as const;

/** A step of an intervention marked done. */
export const StepDone = z.object({
  step: z.number().int().min(0).describe("Index of the step in the playbook version's steps"),
  doneAt: z.string(),
  note: z.string().max(2000).optional(),
});
export type StepDone = z.infer<typeof StepDone>;

/** A CSM running a playbook (its version fixed at the start) on an account. */
export const interventions = sqliteTable(
  "interventions",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    playbookId: text("playbook_id").notNull(),
    playbookVersion: integer("playbook_version").notNull(),
    owner: text("owner").notNull(),
    startedAt: text("started_at").notNull(),
    notes: text("notes"),
    status: text("status", { enum: INTERVENTION_STATUSES }).notNull().default("open"),
    stepsDone: text("steps_done", { mode: "json" }).$type<StepDone[]>().notNull().default(sql`'[]'`),
    result: text("result", { enum: INTERVENTION_RESULTS }),
    resultNote: text("result_note"),
    closedAt: text("closed_at"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    index("interventions_account_idx").on(t.accountId, t.startedAt),
    index("interventions_playbook_idx").on(t.playbookId, t.startedAt),
    index("interventions_owner_idx").on(t.owner, t.startedAt),
  ],
);

export const VERDICTS = ["agree", "disagree"] as const;

/** A CSM's verdict on an account's current score, with the figures it was given on. */
export const feedback = sqliteTable(
  "feedback",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    scoreId: integer("score_id"),
    modelVersion: text("model_version"),
    churnProbability: real("churn_probability"),
    /** The model's risk tier at the time. */
    riskTier: text("risk_tier"),
    verdict: text("verdict", { enum: VERDICTS }).notNull(),
    reason: text("reason"),
    /** The risk tier the CSM expects instead (optional). */
    expectedTier: text("expected_tier", { enum: RISK_TIERS }),
    owner: text("owner"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("feedback_account_idx").on(t.accountId, t.createdAt), index("feedback_created_idx").on(t.createdAt)],
);

export const USAGE_ACTIONS = ["worklist", "recommendation", "intervention", "feedback"] as const;
export type UsageAction = (typeof USAGE_ACTIONS)[number];

/** Use of predictive insights, counted per owner per day per action; nothing is sent anywhere. */
export const ownerUsage = sqliteTable(
  "owner_usage",
  {
    owner: text("owner").notNull(),
    day: text("day").notNull(),
    action: text("action", { enum: USAGE_ACTIONS }).notNull(),
    count: integer("count").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.owner, t.day, t.action] }), index("owner_usage_day_idx").on(t.day)],
);

/** Per-owner settings: how many accounts a CSM can work a week. */
export const owners = sqliteTable("owners", {
  owner: text("owner").primaryKey(),
  capacity: integer("capacity").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Small installation-wide values (the holdout's salt, ...), set once and read often. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).$type<unknown>().notNull(),
  createdAt: text("created_at").notNull().default(now),
});

/** The weekly insights digest, one per ISO week (`2026-W49`), as served by `GET /v1/insights`. */
export const insights = sqliteTable("insights", {
  week: text("week").primaryKey(),
  generatedAt: text("generated_at").notNull().default(now),
  sections: text("sections", { mode: "json" }).$type<Record<string, unknown>[]>().notNull(),
  eventId: text("event_id"),
});
