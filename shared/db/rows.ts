/**
 * Types of rows as raw D1 SQL returns them, derived from the drizzle tables so that no query
 * restates a table's columns: snake_case names, JSON columns as their text, booleans as 0/1.
 * Drizzle queries return `$inferSelect` (camelCase, parsed) instead; use these only with
 * `env.DB.prepare(...)`, where SQL the query builder cannot express (json_each bulk writes,
 * keyset pages, window functions) is written by hand.
 */
import { type Column, getTableColumns } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";

type Stored<C extends Column> = C["_"]["dataType"] extends "json" ? string : C["_"]["dataType"] extends "boolean" ? number : C["_"]["data"];

/**
 * One table's row under raw SQL.
 *
 * @example
 *   type DeliveryRow = SqlRow<typeof webhookDeliveries>; // { id: string; event_id: string; attempt_log: string; ... }
 *   const row = await env.DB.prepare("SELECT * FROM webhook_deliveries WHERE id = ?1").bind(id).first<DeliveryRow>();
 */
export type SqlRow<T extends SQLiteTable> = {
  [K in keyof T["_"]["columns"] as T["_"]["columns"][K]["_"]["name"]]: T["_"]["columns"][K]["_"]["notNull"] extends true
    ? Stored<T["_"]["columns"][K]>
    : Stored<T["_"]["columns"][K]> | null;
};

/** Some columns of a table's raw row, by their SQL names. */
export type SqlPick<T extends SQLiteTable, K extends keyof SqlRow<T>> = Pick<SqlRow<T>, K>;

/**
 * `alias.column AS prefixcolumn` for every column of a table, for hand-written SQL that joins
 * tables whose column names collide; `fromSql` reads the row back with the same prefix.
 *
 * @example
 *   `SELECT a.id, ${sqlColumns(scores, "s", "s_")} FROM accounts a LEFT JOIN scores s ON s.id = a.score_id`
 */
export function sqlColumns(table: SQLiteTable, alias: string, prefix: string): string {
  return Object.values(getTableColumns(table))
    .map((c) => `${alias}.${c.name} AS ${prefix}${c.name}`)
    .join(", ");
}

/**
 * A table's `$inferSelect` row from a raw SQL row (optionally with prefixed column names), as
 * drizzle itself would map it: JSON parsed, booleans from 0/1. Null when every column is null
 * (the missing side of a LEFT JOIN).
 */
export function fromSql<T extends SQLiteTable>(table: T, row: Record<string, unknown>, prefix = ""): T["$inferSelect"] | null {
  const out: Record<string, unknown> = {};
  let present = false;
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = row[prefix + column.name];
    if (value !== null && value !== undefined) present = true;
    out[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return present ? (out as T["$inferSelect"]) : null;
}
