ALTER TABLE `model_performance` ADD `model_status` text;--> statement-breakpoint
ALTER TABLE `model_performance` ADD `horizon_days` integer;--> statement-breakpoint
ALTER TABLE `model_performance` ADD `red_threshold` real;--> statement-breakpoint
ALTER TABLE `model_performance` ADD `drift_accounts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `model_performance` ADD `notes` text DEFAULT '[]' NOT NULL;