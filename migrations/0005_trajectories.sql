ALTER TABLE `accounts` ADD `health` integer;--> statement-breakpoint
ALTER TABLE `accounts` ADD `trend` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `act_by` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `health_history` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
CREATE INDEX `accounts_act_by_idx` ON `accounts` (`act_by`,`id`);--> statement-breakpoint
ALTER TABLE `scores` ADD `health` integer;--> statement-breakpoint
ALTER TABLE `scores` ADD `health_90` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `health_90_low` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `health_90_high` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `trend` text;--> statement-breakpoint
ALTER TABLE `scores` ADD `act_by` text;