/**
 * Retention: keeps D1 within its 10 GB at a million accounts by thinning history per the policy
 * in workers/retention/policy.ts, after writing everything it removes to R2, so nothing accepted is lost.
 *
 * Started by the daily rescoring cron after the run (`startRetention`): one message on the
 * retention queue per account id range (the rescore chunks' ranges) and one for the logs. A range waits until the day's
 * rescoring has passed it, so yesterday's score is no longer current when it loses its drivers.
 * Each message works in pages: select up to PAGE rows that policy removes or thins, write them
 * to one gzipped JSON Lines object in R2, then delete them (or rewrite them without drivers) in
 * one D1 transaction; a message that still has work after MAX_PAGES pages re-queues itself.
 *
 * Idempotent: the cut-offs come from the message's day, not the clock; a page's R2 key names its
 * rows (table, day, first and last row id, count), so a retry after a crash between the R2 write
 * and the D1 transaction rewrites the same object; a second run finds nothing to do.
 */
import type { SqlPick } from "../../shared/db/rows";
import type { accounts } from "../../shared/db/schema";
import { jsonChunks } from "../../shared/db/write";
import { CHUNK_SIZE } from "../rescoring/chunks";
import { cutoffs, type RetentionPolicy, retentionPolicy, sqlMonth, sqlWeek } from "./policy";

/** Rows per R2 object and D1 transaction (score rows with drivers are ~2 KB: ~4 MB of JSON). */
export const PAGE = 2000;
/** Pages per queue message before it re-queues itself (bounds a message's time and D1 queries). */
const MAX_PAGES = 10;

export interface RetentionMessage {
  retention: string;
  /** An account id range [from, to), or the logs (events, deliveries, finished runs' chunks). */
  part: { from: string; to: string | null } | "logs";
}

/** Rows removed (archived to R2, then deleted) and thinned (archived, then rewritten without drivers), by table, with the archive objects and their gzipped bytes. */
export type RetentionCounts = Record<string, { deleted: number; thinned: number; objects: number; bytes: number }>;

/**
 * Queues the day's retention: one message per account id range, then one for the logs.
 * Returns the day and the number of messages.
 */
export async function startRetention(env: Env, now = new Date()): Promise<{ day: string; messages: number }> {
  const day = now.toISOString().slice(0, 10);
  retentionPolicy(env as unknown as Record<string, unknown>); // a bad var fails here, before anything is queued
  const messages: RetentionMessage[] = [...(await accountRanges(env.DB)).map((part) => ({ retention: day, part })), { retention: day, part: "logs" as const }];
  for (let i = 0; i < messages.length; i += 100) {
    await env.RETENTION_QUEUE.sendBatch(messages.slice(i, i + 100).map((body) => ({ body, contentType: "json" as const })));
  }
  return { day, messages: messages.length };
}

/** Account id ranges of CHUNK_SIZE accounts (the same split as a rescoring run). */
export async function accountRanges(d1: D1Database): Promise<{ from: string; to: string | null }[]> {
  const bounds = await d1.prepare(`SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM accounts) WHERE rn % ?1 = 0 ORDER BY id`).bind(CHUNK_SIZE).all<SqlPick<typeof accounts, "id">>();
  const starts = bounds.results.map((r) => r.id);
  return starts.map((from, i) => ({ from, to: starts[i + 1] ?? null }));
}

/**
 * Does the whole day's retention in this invocation (tests; small portfolios): every range, then
 * the logs, each to the end.
 */
export async function runRetention(env: Env, now = new Date(), opts: { page?: number; policy?: RetentionPolicy } = {}): Promise<RetentionCounts> {
  const day = now.toISOString().slice(0, 10);
  const counts: RetentionCounts = {};
  const parts: RetentionMessage["part"][] = [...(await accountRanges(env.DB)), "logs"];
  for (const part of parts) {
    for (;;) {
      const r = await processRetention(env, { retention: day, part }, { ...opts, waitForRescoring: false });
      merge(counts, r.counts);
      if (r.status === "done") break;
    }
  }
  return counts;
}

export interface RetentionResult {
  /** `more`: the page budget ran out, send the message again; `waiting`: today's rescoring has not reached the range yet. */
  status: "done" | "more" | "waiting";
  counts: RetentionCounts;
}

/**
 * One message's work: up to `maxPages` pages of one range (or of the logs). `policy` overrides
 * the vars (tests); `waitForRescoring: false` skips waiting for today's run (runRetention).
 */
export async function processRetention(
  env: Env,
  msg: RetentionMessage,
  opts: { page?: number; maxPages?: number; waitForRescoring?: boolean; policy?: RetentionPolicy } = {},
): Promise<RetentionResult> {
  const policy = opts.policy ?? retentionPolicy(env as unknown as Record<string, unknown>);
  const page = opts.page ?? PAGE;
  const counts: RetentionCounts = {};
  if (msg.part !== "logs" && opts.waitForRescoring !== false && (await rescoringPending(env.DB, msg.part, msg.retention))) return { status: "waiting", counts };
  const steps = msg.part === "logs" ? logSteps(policy, msg.retention) : rangeSteps(policy, msg.retention, msg.part);
  let pages = 0;
  for (const step of steps) {
    for (;;) {
      if (pages >= (opts.maxPages ?? MAX_PAGES)) return { status: "more", counts };
      const moved = await movePage(env, step, msg.retention, page);
      pages++;
      const c = (counts[step.table] ??= { deleted: 0, thinned: 0, objects: 0, bytes: 0 });
      c.deleted += moved.deleted;
      c.thinned += moved.thinned;
      c.objects += moved.deleted + moved.thinned > 0 ? 1 : 0;
      c.bytes += moved.bytes;
      if (moved.deleted + moved.thinned < page) break;
    }
  }
  return { status: "done", counts };
}

/** True while a rescoring run started on `day` (within the last 6 hours) has yet to finish a chunk overlapping the range. */
async function rescoringPending(d1: D1Database, range: { from: string; to: string | null }, day: string): Promise<boolean> {
  const row = await d1
    .prepare(
      `SELECT 1 FROM rescore_runs r JOIN rescore_chunks c ON c.run_id = r.id
       WHERE r.status = 'running' AND r.started_at >= ?3 AND r.started_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-6 hours') AND c.status = 'queued'
         AND (?2 IS NULL OR c.from_id < ?2) AND (c.to_id IS NULL OR c.to_id > ?1)
       LIMIT 1`,
    )
    .bind(range.from, range.to, day)
    .first();
  return row !== null;
}

/**
 * One kind of removal: `select` returns the page's rows (each with `_key`, its rowid, and
 * `_action`, "deleted" or "thinned", ordered by `_key`); `thin` rewrites thinned rows.
 */
interface Step {
  table: string;
  select: (d1: D1Database, limit: number) => D1PreparedStatement;
  /** JSON columns parsed in the archive. */
  json: string[];
  /** Statements that write the thinned rows (as selected, without `_key`/`_action`) back under the same ids, without what thinning drops. */
  thin?: (d1: D1Database, rows: Record<string, unknown>[]) => D1PreparedStatement[];
  /** Guards the delete: rows that must stay even if selected (e.g. a score that became current meanwhile). */
  deleteGuard?: string;
}

/** Keeps a score that is its account's current one (it cannot become current again once past, but the check is cheap). */
const GUARD_CURRENT = "AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = scores.account_id AND a.score_id = scores.id)";

/**
 * `column` within the range (?1, ?2): the upper bound only when there is one, since SQLite
 * cannot bound an index range by `(?2 IS NULL OR column < ?2)` and would scan to the last
 * account for every range (quadratic in the portfolio; measured by bench:rescore).
 */
const within = (range: { to: string | null }) => (column: string) => `${column} >= ?1${range.to === null ? "" : ` AND ${column} < ?2`}`;

function rangeSteps(policy: RetentionPolicy, day: string, range: { from: string; to: string | null }): Step[] {
  const cut = cutoffs(policy, day);
  const inRange = within(range);
  const bind = (s: D1PreparedStatement, ...rest: unknown[]) => s.bind(range.from, range.to, ...rest);
  return [
    {
      table: "scores",
      json: ["drivers", "imputed"],
      // Removed: rows past the daily band that are not the first of their week (or month) in
      // their band, and rows past the monthly band. Thinned: the rest older than the drivers
      // cut-off that still carry drivers, a reason or a run id. Never the account's current score.
      select: (d1, limit) =>
        bind(
          d1.prepare(
            `WITH banded AS (
               SELECT id, account_id, scored_at, CASE WHEN scored_at >= ?4 THEN 1 WHEN scored_at >= ?5 THEN 2 ELSE 3 END AS band
               FROM scores WHERE ${inRange("account_id")} AND scored_at < ?3
             ), ranked AS (
               SELECT id, band, row_number() OVER (PARTITION BY account_id, band, CASE band WHEN 1 THEN ${sqlWeek("scored_at")} WHEN 2 THEN ${sqlMonth("scored_at")} END ORDER BY scored_at, id) AS rn FROM banded
             ), doomed AS (SELECT id FROM ranked WHERE band = 3 OR rn > 1)
             SELECT s.id AS _key, 'deleted' AS _action, s.* FROM scores s JOIN doomed USING (id) LEFT JOIN accounts a ON a.id = s.account_id
               WHERE a.score_id IS NOT s.id
             UNION ALL
             SELECT s.id, 'thinned', s.* FROM scores s LEFT JOIN accounts a ON a.id = s.account_id
               WHERE ${inRange("s.account_id")} AND s.scored_at < ?6 AND (s.drivers <> '[]' OR s.expansion_reason IS NOT NULL OR s.run_id IS NOT NULL)
                 AND a.score_id IS NOT s.id AND s.id NOT IN (SELECT id FROM doomed)
             ORDER BY _key LIMIT ?7`,
          ),
          cut.scoreDaily,
          cut.scoreWeekly,
          cut.scoreMonthly,
          cut.scoreDrivers,
          limit,
        ),
      deleteGuard: GUARD_CURRENT,
      // A thinned row keeps what the history chart and monitoring read (probability, interval,
      // tiers, expansion, model, time) and drops its drivers, expansion reason and run id (the
      // run id also leaves two indexes). SQLite merges pages only when rows are deleted: a row
      // shrunk in place (UPDATE) keeps its page (bench:rescore measures both), so a thinned row
      // is deleted and inserted again under the same id.
      thin: (d1, rows) => {
        if (rows.length === 0) return [];
        const columns = Object.keys(rows[0]);
        // A thinned score keeps its health (the history) but not the trajectory it was rescored with.
        const slim = rows.map((r) => ({ ...r, drivers: "[]", expansion_reason: null, run_id: null, health_90: null, health_90_low: null, health_90_high: null, trend: null, act_by: null }));
        return [
          d1.prepare(`DELETE FROM scores WHERE id IN (SELECT value FROM json_each(?1)) ${GUARD_CURRENT}`).bind(JSON.stringify(rows.map((r) => r.id))),
          ...jsonChunks(slim).map((json) =>
            d1
              .prepare(`INSERT INTO scores (${columns.join(", ")}) SELECT ${columns.map((c) => `json_extract(value, '$.${c}')`).join(", ")} FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`)
              .bind(json),
          ),
        ];
      },
    },
    {
      table: "signal_snapshots",
      json: ["features"],
      select: (d1, limit) =>
        bind(
          d1.prepare(
            `WITH banded AS (
               SELECT rowid AS rid, account_id, as_of, CASE WHEN as_of >= ?4 THEN 1 WHEN as_of >= ?5 THEN 2 ELSE 3 END AS band
               FROM signal_snapshots WHERE ${inRange("account_id")} AND as_of < ?3
             ), ranked AS (
               SELECT rid, account_id, as_of, band, row_number() OVER (PARTITION BY account_id, band, CASE band WHEN 1 THEN ${sqlWeek("as_of")} WHEN 2 THEN ${sqlMonth("as_of")} END ORDER BY as_of) AS rn FROM banded
             )
             SELECT r.rid AS _key, 'deleted' AS _action, s.* FROM ranked r JOIN signal_snapshots s ON s.rowid = r.rid
             WHERE (r.band = 3 OR r.rn > 1) AND r.as_of < (SELECT max(as_of) FROM signal_snapshots n WHERE n.account_id = r.account_id)
             ORDER BY _key LIMIT ?6`,
          ),
          cut.snapshotDaily,
          cut.snapshotWeekly,
          cut.snapshotMonthly,
          limit,
        ),
    },
    {
      table: "shadow_scores",
      json: [],
      select: (d1, limit) =>
        bind(
          d1.prepare(
            `SELECT rowid AS _key, 'deleted' AS _action, * FROM shadow_scores
             WHERE run_id IN (SELECT id FROM rescore_runs WHERE coalesce(started_at, created_at) < ?3) AND ${inRange("account_id")} AND scored_at < ?3
             ORDER BY _key LIMIT ?4`,
          ),
          cut.shadow,
          limit,
        ),
    },
  ];
}

function logSteps(policy: RetentionPolicy, day: string): Step[] {
  const cut = cutoffs(policy, day);
  return [
    {
      table: "webhook_deliveries",
      json: ["attempt_log"],
      select: (d1, limit) =>
        d1
          .prepare(`SELECT rowid AS _key, 'deleted' AS _action, * FROM webhook_deliveries WHERE created_at < ?1 AND status NOT IN ('pending', 'retrying') ORDER BY _key LIMIT ?2`)
          .bind(cut.event, limit),
    },
    {
      table: "events",
      json: ["payload"],
      // An event leaves with its last delivery: never while one is still pending or retrying.
      select: (d1, limit) =>
        d1
          .prepare(
            `SELECT rowid AS _key, 'deleted' AS _action, * FROM events WHERE created_at < ?1
               AND id NOT IN (SELECT event_id FROM webhook_deliveries WHERE status IN ('pending', 'retrying'))
             ORDER BY _key LIMIT ?2`,
          )
          .bind(cut.event, limit),
    },
    {
      table: "rescore_chunks",
      json: [],
      select: (d1, limit) =>
        d1
          .prepare(
            `SELECT rowid AS _key, 'deleted' AS _action, * FROM rescore_chunks
             WHERE run_id IN (SELECT id FROM rescore_runs WHERE status IN ('completed', 'failed') AND coalesce(finished_at, started_at, created_at) < ?1)
             ORDER BY _key LIMIT ?2`,
          )
          .bind(cut.event, limit),
    },
  ];
}

/** Archives one page of a step's rows to R2, then removes or thins them in one D1 transaction. */
async function movePage(env: Env, step: Step, day: string, limit: number): Promise<{ deleted: number; thinned: number; bytes: number }> {
  const rows = (await step.select(env.DB, limit).all<Record<string, unknown> & { _key: number; _action: string }>()).results;
  if (rows.length === 0) return { deleted: 0, thinned: 0, bytes: 0 };
  const lines = rows.map(({ _key, _action, ...row }) => {
    for (const c of step.json) if (typeof row[c] === "string") row[c] = JSON.parse(row[c] as string);
    return JSON.stringify({ ...row, _retention: _action === "thinned" ? "drivers dropped" : "deleted", _day: day });
  });
  const first = rows[0]._key;
  const last = rows[rows.length - 1]._key;
  const key = `archive/${step.table}/${day}/${String(first).padStart(12, "0")}-${String(last).padStart(12, "0")}-${rows.length}.jsonl.gz`;
  const body = await gzip(`${lines.join("\n")}\n`);
  await env.MODELS.put(key, body, {
    httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
    customMetadata: { table: step.table, day, rows: String(rows.length) },
  });
  const deleted = JSON.stringify(rows.filter((r) => r._action === "deleted").map((r) => r._key));
  const thinned = rows.filter((r) => r._action === "thinned").map(({ _key, _action, ...row }) => row);
  const keyColumn = step.table === "scores" ? "id" : "rowid";
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM ${step.table} WHERE ${keyColumn} IN (SELECT value FROM json_each(?1)) ${step.deleteGuard ?? ""}`).bind(deleted),
    ...(step.thin ? step.thin(env.DB, thinned) : []),
  ]);
  const count = (a: string) => rows.filter((r) => r._action === a).length;
  return { deleted: count("deleted"), thinned: count("thinned"), bytes: body.byteLength };
}

async function gzip(text: string): Promise<ArrayBuffer> {
  return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
}

function merge(into: RetentionCounts, from: RetentionCounts): void {
  for (const [table, c] of Object.entries(from)) {
    const t = (into[table] ??= { deleted: 0, thinned: 0, objects: 0, bytes: 0 });
    t.deleted += c.deleted;
    t.thinned += c.thinned;
    t.objects += c.objects;
    t.bytes += c.bytes;
  }
}
