/**
 * Playbooks in D1, versioned: an edit appends version n + 1 (so an intervention keeps the text it
 * used), deleting retires every version, and the current version is the newest. The defaults
 * (defaults.ts) are written as version 1 with `INSERT … ON CONFLICT DO NOTHING` in the same batch
 * as every read, so a fresh installation has them without anyone calling the API, an edited
 * default keeps its edits, and a deleted one stays retired.
 */
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { fromSql } from "../../shared/db/rows";
import { PLAYBOOK_TIERS, playbooks } from "../../shared/db/schema";
import { type Db, db } from "../../shared/db/write";
import { Problem } from "../http/problem";
import { DEFAULT_PLAYBOOKS, type PlaybookDraft } from "../../shared/cs/default-playbooks";

export type PlaybookRow = typeof playbooks.$inferSelect;

/** Writes version 1 of every default that was never written (a retired or edited default is left alone). */
function defaultsStatement(d: Db): BatchItem<"sqlite"> {
  return d
    .insert(playbooks)
    .values(DEFAULT_PLAYBOOKS.map((p) => ({ ...p, version: 1 })))
    .onConflictDoNothing();
}

/** Runs `query` after making sure the defaults exist, in one batch (one round trip). */
async function withDefaults<T>(d: Db, query: BatchItem<"sqlite">): Promise<T> {
  const [, result] = await d.batch([defaultsStatement(d), query]);
  return result as T;
}

const isCurrent = sql`${playbooks.version} = (SELECT max(q.version) FROM playbooks q WHERE q.id = ${playbooks.id})`;
const tierOrder = sql`CASE ${playbooks.tier} ${sql.raw(PLAYBOOK_TIERS.map((t, i) => `WHEN '${t}' THEN ${i}`).join(" "))} END`;

/**
 * The current version of every playbook that is not retired: red, yellow, blue; within a tier
 * driver-specific ones first, then by id. Rescoring calls it once per chunk.
 */
export async function currentPlaybooks(env: Pick<Env, "DB">): Promise<PlaybookRow[]> {
  const d = db(env.DB);
  return withDefaults<PlaybookRow[]>(
    d,
    d
      .select()
      .from(playbooks)
      .where(and(isNull(playbooks.retiredAt), isCurrent))
      .orderBy(tierOrder, sql`${playbooks.driver} IS NULL`, asc(playbooks.id)),
  );
}

/** Every version of a playbook, oldest first (empty when there is no such playbook). */
export async function playbookVersions(env: Pick<Env, "DB">, id: string): Promise<PlaybookRow[]> {
  const d = db(env.DB);
  return withDefaults<PlaybookRow[]>(d, d.select().from(playbooks).where(eq(playbooks.id, id)).orderBy(asc(playbooks.version)));
}

/** The 404 for an unknown playbook (or version), naming the field that carried it. */
export function playbookNotFound(id: string, version?: number): Problem {
  return version === undefined
    ? new Problem(404, "playbook-not-found", `No playbook with id '${id}'.`, [{ field: "id", detail: "no such playbook" }])
    : new Problem(404, "playbook-not-found", `Playbook '${id}' has no version ${version}.`, [{ field: "version", detail: "no such version" }]);
}

/**
 * One version of a playbook (retired or not): what an intervention that used it shows.
 * Throws the 404 when there is none.
 */
export async function playbookVersion(env: Pick<Env, "DB">, id: string, version: number): Promise<PlaybookRow> {
  const d = db(env.DB);
  const [row] = await withDefaults<PlaybookRow[]>(d, d.select().from(playbooks).where(and(eq(playbooks.id, id), eq(playbooks.version, version))));
  if (!row) throw playbookNotFound(id, version);
  return row;
}

/** The current version of a playbook, retired or not; throws the 404 when there is none. */
export async function currentPlaybook(env: Pick<Env, "DB">, id: string): Promise<PlaybookRow> {
  const versions = await playbookVersions(env, id);
  const row = versions.at(-1);
  if (!row) throw playbookNotFound(id);
  return row;
}

function newId(): string {
  return `pb_${[...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Writes a new playbook as version 1; a 409 naming `id` when that id exists (retired ones too). */
export async function createPlaybook(env: Pick<Env, "DB">, draft: Omit<PlaybookDraft, "id"> & { id?: string }): Promise<PlaybookRow> {
  const d = db(env.DB);
  const id = draft.id ?? newId();
  const [row] = await withDefaults<PlaybookRow[]>(
    d,
    d
      .insert(playbooks)
      .values({ ...draft, id, version: 1, createdAt: new Date().toISOString() })
      .onConflictDoNothing()
      .returning(),
  );
  if (!row) throw new Problem(409, "playbook-exists", `A playbook with id '${id}' exists; change it with PUT or PATCH /v1/playbooks/${id}.`, [{ field: "id", detail: "already exists" }]);
  return row;
}

/**
 * Appends `draft` as the next version of playbook `id`. With `expected`, only if the current
 * version is still that one (a PATCH merged onto it). Throws 404 (unknown), 409 (retired, or
 * changed meanwhile).
 */
export async function appendVersion(env: Pick<Env, "DB">, id: string, draft: Omit<PlaybookDraft, "id">, expected?: number): Promise<PlaybookRow> {
  const stamp = new Date().toISOString();
  // One statement, so two writers can never take the same version number.
  const row = await env.DB.prepare(
    `INSERT INTO playbooks (id, version, name, tier, driver, lead_days, steps, template, retired_at, created_at)
     SELECT ?1, max(version) + 1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8 FROM playbooks WHERE id = ?1
     HAVING count(*) > 0 AND max(retired_at IS NOT NULL) = 0 AND (?9 IS NULL OR max(version) = ?9)
     RETURNING *`,
  )
    .bind(id, draft.name, draft.tier, draft.driver, draft.leadDays, JSON.stringify(draft.steps), JSON.stringify(draft.template), stamp, expected ?? null)
    .first<Record<string, unknown>>();
  if (row) return fromSql(playbooks, row)!;
  const versions = await playbookVersions(env, id);
  if (versions.length === 0) throw playbookNotFound(id);
  if (versions.some((v) => v.retiredAt)) throw retired(id);
  throw new Problem(409, "playbook-changed", `Playbook '${id}' changed while this edit was made (now version ${versions.at(-1)!.version}); send it again.`, [{ field: "id", detail: "changed concurrently" }]);
}

function retired(id: string): Problem {
  return new Problem(409, "playbook-retired", `Playbook '${id}' is retired; its versions stay readable, but it can no longer change. Create a new one instead.`, [{ field: "id", detail: "retired" }]);
}

/** Retires every version of a playbook; 404 when unknown, 409 when already retired. Returns the current version. */
export async function retirePlaybook(env: Pick<Env, "DB">, id: string): Promise<PlaybookRow> {
  const d = db(env.DB);
  const changed = await withDefaults<{ version: number }[]>(
    d,
    d.update(playbooks).set({ retiredAt: new Date().toISOString() }).where(and(eq(playbooks.id, id), isNull(playbooks.retiredAt))).returning({ version: playbooks.version }),
  );
  if (changed.length === 0) {
    if ((await playbookVersions(env, id)).length === 0) throw playbookNotFound(id);
    throw retired(id);
  }
  return currentPlaybook(env, id);
}
