CREATE TABLE `model_activations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`version` text NOT NULL,
	`target` text NOT NULL,
	`previous_version` text,
	`activated_by` text NOT NULL,
	`activated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `model_activations_version_idx` ON `model_activations` (`version`,`activated_at`);--> statement-breakpoint
CREATE INDEX `model_activations_target_idx` ON `model_activations` (`target`,`activated_at`);--> statement-breakpoint
CREATE TABLE `score_exports` (
	`day` text PRIMARY KEY NOT NULL,
	`r2_key` text NOT NULL,
	`status` text DEFAULT 'writing' NOT NULL,
	`rows` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`sha256` text,
	`run_id` text,
	`event_id` text,
	`error` text,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`finished_at` text
);
