CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`arr` real,
	`renewal_date` text,
	`owner` text,
	`features` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `accounts_owner_idx` ON `accounts` (`owner`);--> statement-breakpoint
CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`name` text,
	`scopes` text NOT NULL,
	`rate_limit` integer DEFAULT 50 NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`revoked_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_idx` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `models` (
	`version` text PRIMARY KEY NOT NULL,
	`target` text DEFAULT 'churn' NOT NULL,
	`family` text NOT NULL,
	`r2_key` text NOT NULL,
	`sha256` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`metrics` text NOT NULL,
	`status` text DEFAULT 'candidate' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`activated_at` text
);
--> statement-breakpoint
CREATE INDEX `models_target_status_idx` ON `models` (`target`,`status`);--> statement-breakpoint
CREATE TABLE `outcomes` (
	`account_id` text NOT NULL,
	`type` text NOT NULL,
	`date` text NOT NULL,
	`amount` real,
	`note` text,
	`recorded_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`account_id`, `type`, `date`)
);
--> statement-breakpoint
CREATE TABLE `scores` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`model_version` text NOT NULL,
	`churn_probability` real NOT NULL,
	`risk_tier` text NOT NULL,
	`drivers` text NOT NULL,
	`imputed` text NOT NULL,
	`source` text NOT NULL,
	`run_id` text,
	`scored_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `scores_account_idx` ON `scores` (`account_id`,`id`);--> statement-breakpoint
CREATE TABLE `signal_snapshots` (
	`account_id` text NOT NULL,
	`as_of` text NOT NULL,
	`features` text NOT NULL,
	`recorded_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`account_id`, `as_of`)
);
