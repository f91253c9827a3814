CREATE TABLE `rescore_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`trigger` text NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`model_version` text,
	`accounts` integer DEFAULT 0 NOT NULL,
	`scored` integer DEFAULT 0 NOT NULL,
	`tier_changes` integer DEFAULT 0 NOT NULL,
	`portfolio` text,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`started_at` text,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `rescore_runs_status_idx` ON `rescore_runs` (`status`,`finished_at`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `score_id` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `churn_probability` real;--> statement-breakpoint
ALTER TABLE `accounts` ADD `risk_tier` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `tier` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `expansion_probability` real;--> statement-breakpoint
ALTER TABLE `accounts` ADD `scored_at` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `arr_at_risk` real GENERATED ALWAYS AS (coalesce(arr, 0) * coalesce(churn_probability, 0)) VIRTUAL;--> statement-breakpoint
CREATE INDEX `accounts_arr_at_risk_idx` ON `accounts` (`arr_at_risk`,`id`);--> statement-breakpoint
CREATE INDEX `accounts_tier_idx` ON `accounts` (`tier`,`arr_at_risk`,`id`);--> statement-breakpoint
ALTER TABLE `scores` ADD `tier` text;--> statement-breakpoint
ALTER TABLE `scores` ADD `expansion_probability` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `expansion_ready` integer;--> statement-breakpoint
ALTER TABLE `scores` ADD `expansion_source` text;--> statement-breakpoint
ALTER TABLE `scores` ADD `expansion_version` text;--> statement-breakpoint
ALTER TABLE `scores` ADD `expansion_reason` text;--> statement-breakpoint
CREATE INDEX `scores_run_idx` ON `scores` (`run_id`);--> statement-breakpoint
UPDATE `accounts` SET (`score_id`, `churn_probability`, `risk_tier`, `tier`, `scored_at`) =
  (SELECT s.`id`, s.`churn_probability`, s.`risk_tier`, s.`risk_tier`, s.`scored_at` FROM `scores` s WHERE s.`account_id` = `accounts`.`id` ORDER BY s.`id` DESC LIMIT 1)
  WHERE EXISTS (SELECT 1 FROM `scores` s WHERE s.`account_id` = `accounts`.`id`);
