ALTER TABLE `scores` ADD `interval_low` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `interval_high` real;--> statement-breakpoint
ALTER TABLE `scores` ADD `confidence` text;