CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`account_id` text,
	`run_id` text,
	`model_version` text,
	`payload` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_type_idx` ON `events` (`type`,`created_at`);--> statement-breakpoint
CREATE INDEX `events_account_idx` ON `events` (`account_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `model_performance` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`model_version` text NOT NULL,
	`computed_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`scores_evaluated` integer DEFAULT 0 NOT NULL,
	`positives` integer DEFAULT 0 NOT NULL,
	`auc` real,
	`precision_at_red` real,
	`recall_at_red` real,
	`f1_at_red` real,
	`brier` real,
	`calibration` text,
	`feature_psi` text,
	`max_feature_psi` real,
	`prediction_psi` real,
	`alerts` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `model_performance_version_idx` ON `model_performance` (`model_version`,`computed_at`);--> statement-breakpoint
CREATE TABLE `rescore_chunks` (
	`run_id` text NOT NULL,
	`chunk` integer NOT NULL,
	`from_id` text NOT NULL,
	`to_id` text,
	`status` text DEFAULT 'queued' NOT NULL,
	`scored` integer DEFAULT 0 NOT NULL,
	`tier_changes` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`finished_at` text,
	PRIMARY KEY(`run_id`, `chunk`)
);
--> statement-breakpoint
CREATE TABLE `shadow_scores` (
	`run_id` text NOT NULL,
	`account_id` text NOT NULL,
	`model_version` text NOT NULL,
	`churn_probability` real NOT NULL,
	`scored_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`run_id`, `account_id`, `model_version`)
);
--> statement-breakpoint
CREATE INDEX `shadow_scores_version_idx` ON `shadow_scores` (`model_version`,`run_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`endpoint_id` text NOT NULL,
	`event_id` text NOT NULL,
	`event_type` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`attempt_log` text DEFAULT '[]' NOT NULL,
	`next_attempt_at` text,
	`enqueued_at` text,
	`delivered_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_endpoint_event_idx` ON `webhook_deliveries` (`endpoint_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_endpoint_idx` ON `webhook_deliveries` (`endpoint_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_status_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`description` text,
	`kind` text DEFAULT 'standard' NOT NULL,
	`event_types` text NOT NULL,
	`secret` text NOT NULL,
	`status` text DEFAULT 'enabled' NOT NULL,
	`disabled_reason` text,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
ALTER TABLE `rescore_runs` ADD `chunks_total` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `rescore_runs` ADD `chunks_done` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `rescore_runs` ADD `shadow_version` text;--> statement-breakpoint
CREATE UNIQUE INDEX `scores_run_account_idx` ON `scores` (`run_id`,`account_id`) WHERE run_id IS NOT NULL;