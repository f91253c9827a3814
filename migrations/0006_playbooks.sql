CREATE TABLE `feedback` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`score_id` integer,
	`model_version` text,
	`churn_probability` real,
	`risk_tier` text,
	`verdict` text NOT NULL,
	`reason` text,
	`expected_tier` text,
	`owner` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `feedback_account_idx` ON `feedback` (`account_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `feedback_created_idx` ON `feedback` (`created_at`);--> statement-breakpoint
CREATE TABLE `holdout_assignments` (
	`account_id` text NOT NULL,
	`tier` text NOT NULL,
	`period` text NOT NULL,
	`arm` text NOT NULL,
	`playbook_id` text,
	`playbook_version` integer,
	`owner` text,
	`arr` real,
	`churn_probability` real,
	`score_id` integer,
	`window_days` integer NOT NULL,
	`assigned_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`account_id`, `tier`, `period`)
);
--> statement-breakpoint
CREATE INDEX `holdout_assigned_idx` ON `holdout_assignments` (`assigned_at`);--> statement-breakpoint
CREATE INDEX `holdout_playbook_idx` ON `holdout_assignments` (`playbook_id`,`assigned_at`);--> statement-breakpoint
CREATE INDEX `holdout_owner_idx` ON `holdout_assignments` (`owner`,`assigned_at`);--> statement-breakpoint
CREATE TABLE `insights` (
	`week` text PRIMARY KEY NOT NULL,
	`generated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`sections` text NOT NULL,
	`event_id` text
);
--> statement-breakpoint
CREATE TABLE `interventions` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`playbook_id` text NOT NULL,
	`playbook_version` integer NOT NULL,
	`owner` text NOT NULL,
	`started_at` text NOT NULL,
	`notes` text,
	`status` text DEFAULT 'open' NOT NULL,
	`steps_done` text DEFAULT '[]' NOT NULL,
	`result` text,
	`result_note` text,
	`closed_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `interventions_account_idx` ON `interventions` (`account_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `interventions_playbook_idx` ON `interventions` (`playbook_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `interventions_owner_idx` ON `interventions` (`owner`,`started_at`);--> statement-breakpoint
CREATE TABLE `owner_usage` (
	`owner` text NOT NULL,
	`day` text NOT NULL,
	`action` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`owner`, `day`, `action`)
);
--> statement-breakpoint
CREATE INDEX `owner_usage_day_idx` ON `owner_usage` (`day`);--> statement-breakpoint
CREATE TABLE `owners` (
	`owner` text PRIMARY KEY NOT NULL,
	`capacity` integer NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `playbooks` (
	`id` text NOT NULL,
	`version` integer NOT NULL,
	`name` text NOT NULL,
	`tier` text NOT NULL,
	`driver` text,
	`lead_days` integer NOT NULL,
	`steps` text NOT NULL,
	`template` text NOT NULL,
	`retired_at` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`id`, `version`)
);
--> statement-breakpoint
CREATE INDEX `playbooks_tier_idx` ON `playbooks` (`tier`,`driver`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
