/**
 * Retention with real D1 and R2: 15 months of daily history for a few accounts, thinned by the
 * default policy on a fixed day. Checks the rows kept band by band, that current scores and
 * today's scores keep their drivers, that every removed or thinned row is in the R2 archive as it
 * stood, and that a second run changes nothing.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../../workers/index";
import { processRetention, runRetention } from "../../../workers/retention/job";
import { cutoffs, DEFAULT_RETENTION, daysBefore, keptByBands, retentionPolicy, weekOf } from "../../../workers/retention/policy";

/** The job's day (a Wednesday) and when the cron runs it. */
const DAY = "2026-06-17";
const NOW = new Date(`${DAY}T02:00:00Z`);
const ACCOUNTS = ["RT-A", "RT-B", "RT-C"];
/** An account nobody rescored for 500 days: its only score stays current, drivers and all. */
const STALE = "RT-STALE";
const HISTORY_DAYS = 460;

const drivers = (seed: number) =>
  Array.from({ length: 10 }, (_, k) => ({ feature: `signal_${k}`, value: seed % 97, contribution: 0.1 * (k + 1), effect: "raises risk", phrase: `signal ${k} of ${seed % 97} raises risk` }));

type Row = Record<string, unknown>;

async function dump(sql: string): Promise<Row[]> {
  return (await env.DB.prepare(sql).all<Row>()).results;
}

async function gunzipLines(body: ArrayBuffer): Promise<Row[]> {
  const text = await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

/** The rows in the archive objects with these keys, by table. */
async function archived(keys: string[]): Promise<Map<string, Row[]>> {
  const byTable = new Map<string, Row[]>();
  for (const key of keys) {
    const table = key.split("/")[1];
    const obj = await env.MODELS.get(key);
    byTable.set(table, [...(byTable.get(table) ?? []), ...(await gunzipLines(await obj!.arrayBuffer()))]);
  }
  return byTable;
}

async function archiveKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.MODELS.list({ prefix: "archive/", cursor });
    keys.push(...page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return keys;
}

/** `days` days of daily scores (with drivers) and snapshots for `account`, up to DAY−1, and a current score today. */
async function history(account: string, days: number): Promise<void> {
  const dates = Array.from({ length: days }, (_, i) => daysBefore(DAY, days - i));
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO accounts (id, features) VALUES (?1, '{}')`).bind(account),
    env.DB.prepare(
      `INSERT INTO scores (account_id, model_version, churn_probability, risk_tier, drivers, imputed, source, scored_at, expansion_reason)
       SELECT ?1, 'churn-test', 0.5, 'yellow', ?2, '[]', 'rescore', value || 'T02:05:00.000Z', 'a reason' FROM json_each(?3) ORDER BY value`,
    ).bind(account, JSON.stringify(drivers(1)), JSON.stringify([...dates, DAY])),
    env.DB.prepare(`UPDATE accounts SET score_id = (SELECT max(id) FROM scores s WHERE s.account_id = accounts.id) WHERE id = ?1`).bind(account),
    env.DB.prepare(`INSERT INTO signal_snapshots (account_id, as_of, features) SELECT ?1, value, '{}' FROM json_each(?2)`).bind(account, JSON.stringify([...dates, DAY])),
  ]);
}

/** The id range of the accounts named `prefix…`. */
const only = (prefix: string) => ({ from: prefix, to: `${prefix}\uffff` });

beforeAll(async () => {
  const scores: Row[] = [];
  const snapshots: Row[] = [];
  for (const a of ACCOUNTS) {
    for (let d = HISTORY_DAYS; d >= 1; d--) {
      const day = daysBefore(DAY, d);
      scores.push({ a, t: `${day}T02:05:00.000Z`, u: `run_${day}`, s: "rescore" });
      snapshots.push({ a, d: day });
    }
    // Today: an API score at 01:00 (not current) and this morning's rescoring (current).
    scores.push({ a, t: `${DAY}T01:00:00.000Z`, u: null, s: "api" });
    scores.push({ a, t: `${DAY}T02:05:00.000Z`, u: `run_${DAY}`, s: "rescore" });
    snapshots.push({ a, d: DAY });
  }
  // Two scores on one day in the monthly band: the earlier is the month's first.
  scores.push({ a: "RT-A", t: `${DAY.slice(0, 8)}01T09:00:00.000Z`, u: null, s: "api" });
  scores.push({ a: STALE, t: `${daysBefore(DAY, 500)}T02:05:00.000Z`, u: `run_${daysBefore(DAY, 500)}`, s: "rescore" });
  snapshots.push({ a: STALE, d: daysBefore(DAY, 500) });
  const payload = scores.map((r, i) => ({ ...r, p: (i % 100) / 100, d: JSON.stringify(drivers(i)), x: `reason ${i}` }));

  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO accounts (id, name, features) SELECT value, value, '{"logins_30d":3}' FROM json_each(?1)`,
    ).bind(JSON.stringify([...ACCOUNTS, STALE])),
    env.DB.prepare(
      `INSERT INTO scores (account_id, model_version, churn_probability, interval_low, interval_high, confidence, risk_tier, drivers, imputed, source, run_id, scored_at, tier, expansion_probability, expansion_ready, expansion_source, expansion_reason)
       SELECT json_extract(value, '$.a'), 'churn-test', json_extract(value, '$.p'), 0.1, 0.9, 'medium', 'green', json_extract(value, '$.d'), '[]', json_extract(value, '$.s'), json_extract(value, '$.u'), json_extract(value, '$.t'), 'green', 0.2, 0, 'scorecard', json_extract(value, '$.x')
       FROM json_each(?1) ORDER BY json_extract(value, '$.t')`,
    ).bind(JSON.stringify(payload)),
    env.DB.prepare(`UPDATE accounts SET score_id = (SELECT max(id) FROM scores s WHERE s.account_id = accounts.id)`),
    env.DB.prepare(
      `INSERT INTO signal_snapshots (account_id, as_of, features, recorded_at) SELECT json_extract(value, '$.a'), json_extract(value, '$.d'), '{"logins_30d":3,"seats":12}', json_extract(value, '$.d') || 'T00:00:00Z' FROM json_each(?1)`,
    ).bind(JSON.stringify(snapshots)),
    // Runs: one 40 days ago (its chunks go), a shadow-scored one 5 days ago (its shadow scores go) and yesterday's (kept).
    env.DB.prepare(
      `INSERT INTO rescore_runs (id, trigger, status, model_version, shadow_version, started_at, finished_at, created_at) VALUES
        ('run_old', 'cron', 'completed', 'churn-test', NULL, ?1, ?1, ?1), ('run_shadow_old', 'cron', 'completed', 'churn-test', 'churn-shadow', ?2, ?2, ?2),
        ('run_shadow_new', 'cron', 'completed', 'churn-test', 'churn-shadow', ?3, ?3, ?3)`,
    ).bind(`${daysBefore(DAY, 40)}T02:00:00Z`, `${daysBefore(DAY, 5)}T02:00:00Z`, `${daysBefore(DAY, 1)}T02:00:00Z`),
    env.DB.prepare(`INSERT INTO rescore_chunks (run_id, chunk, from_id, to_id, status) VALUES ('run_old', 0, 'RT-A', NULL, 'completed'), ('run_shadow_new', 0, 'RT-A', NULL, 'completed')`),
    env.DB.prepare(
      `INSERT INTO shadow_scores (run_id, account_id, model_version, churn_probability, scored_at) SELECT r.id, a.value, 'churn-shadow', 0.3, r.started_at FROM rescore_runs r, json_each(?1) a WHERE r.id LIKE 'run_shadow_%'`,
    ).bind(JSON.stringify(ACCOUNTS)),
    // Events 45 and 2 days old; an old delivery that succeeded (goes) and an old one still retrying (it and its event stay).
    env.DB.prepare(
      `INSERT INTO events (id, type, account_id, run_id, model_version, payload, created_at) VALUES
        ('evt_old', 'account.risk_tier_changed', 'RT-A', 'run_old', 'churn-test', '{"tier":"red"}', ?1),
        ('evt_old_retrying', 'account.risk_tier_changed', 'RT-B', 'run_old', 'churn-test', '{"tier":"red"}', ?1),
        ('evt_old_run', 'rescore.completed', NULL, 'run_old', 'churn-test', '{"scored":3}', ?1),
        ('evt_new', 'account.risk_tier_changed', 'RT-C', 'run_shadow_new', 'churn-test', '{"tier":"yellow"}', ?2)`,
    ).bind(`${daysBefore(DAY, 45)}T02:10:00Z`, `${daysBefore(DAY, 2)}T02:10:00Z`),
    env.DB.prepare(`INSERT INTO webhook_endpoints (id, url, event_types, secret) VALUES ('we_1', 'https://hooks.example/cs', '["*"]', 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=')`),
    env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, attempts, created_at, updated_at) VALUES
        ('dlv_old', 'we_1', 'evt_old', 'account.risk_tier_changed', 'succeeded', 1, ?1, ?1),
        ('dlv_old_retrying', 'we_1', 'evt_old_retrying', 'account.risk_tier_changed', 'retrying', 7, ?1, ?1),
        ('dlv_new', 'we_1', 'evt_new', 'account.risk_tier_changed', 'succeeded', 1, ?2, ?2)`,
    ).bind(`${daysBefore(DAY, 45)}T02:10:00Z`, `${daysBefore(DAY, 2)}T02:10:00Z`),
  ]);
});

describe("retention (default policy)", () => {
  it("thins history per the policy, archives every removed row to R2 first, and a second run changes nothing", { timeout: 60_000 }, async () => {
    const policy = retentionPolicy(env as unknown as Record<string, unknown>);
    expect(policy).toEqual(DEFAULT_RETENTION);
    const cut = cutoffs(policy, DAY);
    const before = await dump("SELECT * FROM scores ORDER BY id");
    const snapsBefore = await dump("SELECT rowid AS rid, * FROM signal_snapshots ORDER BY rowid");
    const current = new Map((await dump("SELECT id, score_id FROM accounts")).map((r) => [r.id as string, r.score_id as number]));
    const keysBefore = new Set(await archiveKeys());

    const counts = await runRetention(env, NOW, { page: 300 });

    // Scores: exactly the rows the bands keep, and the current ones.
    const after = await dump("SELECT * FROM scores ORDER BY id");
    const afterById = new Map(after.map((r) => [r.id as number, r]));
    for (const account of [...ACCOUNTS, STALE]) {
      const mine = before.filter((r) => r.account_id === account);
      const kept = keptByBands(
        mine.map((r) => r.scored_at as string),
        { daily: cut.scoreDaily, weekly: cut.scoreWeekly, monthly: cut.scoreMonthly },
        (i) => mine[i].id === current.get(account),
      );
      expect(mine.filter((_, i) => kept[i]).map((r) => r.id)).toEqual(after.filter((r) => r.account_id === account).map((r) => r.id));
    }
    for (const account of ACCOUNTS) {
      const days = after.filter((r) => r.account_id === account).map((r) => (r.scored_at as string).slice(0, 10));
      const daily = days.filter((d) => d >= cut.scoreDaily);
      const weekly = days.filter((d) => d < cut.scoreDaily && d >= cut.scoreWeekly);
      const monthly = days.filter((d) => d < cut.scoreWeekly && d >= cut.scoreMonthly);
      // Every day of the last week (today twice: the API score and the run's), then one per week, one per month, nothing older.
      expect(daily).toHaveLength(policy.scoreDailyDays + 2);
      expect(new Set(weekly.map(weekOf)).size).toBe(weekly.length);
      for (const d of weekly) expect(new Date(`${d}T00:00:00Z`).getUTCDay() === 1 || d === cut.scoreWeekly).toBe(true);
      expect(new Set(monthly.map((d) => d.slice(0, 7))).size).toBe(monthly.length);
      for (const d of monthly) expect(d.endsWith("-01") || d === cut.scoreMonthly).toBe(true);
      expect(days.filter((d) => d < cut.scoreMonthly)).toEqual([]);
    }
    // The month's first day had two scores: the earlier stays (the run's at 02:05, not the API's at 09:00).
    expect(after.filter((r) => r.account_id === "RT-A" && (r.scored_at as string).startsWith(`${DAY.slice(0, 8)}01`)).map((r) => r.scored_at)).toEqual([`${DAY.slice(0, 8)}01T02:05:00.000Z`]);

    // Drivers (and the reason and run id): kept on current scores (even 500 days old) and on today's; dropped from the rest, which are otherwise unchanged.
    for (const r of after) {
      const old = before.find((b) => b.id === r.id)!;
      const keepsDrivers = r.id === current.get(r.account_id as string) || (r.scored_at as string) >= DAY;
      expect(r).toEqual(keepsDrivers ? old : { ...old, drivers: "[]", expansion_reason: null, run_id: null });
    }
    expect(afterById.get(current.get(STALE)!)).toEqual(before.find((b) => b.id === current.get(STALE)));

    // Snapshots: the same bands; each account's newest always stays.
    const snapsAfter = await dump("SELECT rowid AS rid, * FROM signal_snapshots ORDER BY rowid");
    for (const account of [...ACCOUNTS, STALE]) {
      const mine = snapsBefore.filter((r) => r.account_id === account);
      const newest = mine.reduce((m, r) => ((r.as_of as string) > m ? (r.as_of as string) : m), "");
      const kept = keptByBands(
        mine.map((r) => r.as_of as string),
        { daily: cut.snapshotDaily, weekly: cut.snapshotWeekly, monthly: cut.snapshotMonthly },
        (i) => mine[i].as_of === newest,
      );
      expect(snapsAfter.filter((r) => r.account_id === account)).toEqual(mine.filter((_, i) => kept[i]));
    }
    expect(snapsAfter.some((r) => r.account_id === STALE)).toBe(true);

    // Logs: old events and finished deliveries go, unless a delivery is still retrying; old runs' chunks; old shadow scores.
    expect((await dump("SELECT id FROM events ORDER BY id")).map((r) => r.id)).toEqual(["evt_new", "evt_old_retrying"]);
    expect((await dump("SELECT id FROM webhook_deliveries ORDER BY id")).map((r) => r.id)).toEqual(["dlv_new", "dlv_old_retrying"]);
    expect((await dump("SELECT run_id FROM rescore_chunks WHERE run_id IN ('run_old', 'run_shadow_new')")).map((r) => r.run_id)).toEqual(["run_shadow_new"]);
    expect((await dump("SELECT DISTINCT run_id FROM shadow_scores")).map((r) => r.run_id)).toEqual(["run_shadow_new"]);
    expect((await dump("SELECT count(*) AS n FROM rescore_runs WHERE id IN ('run_old', 'run_shadow_old', 'run_shadow_new')"))[0].n).toBe(3);

    // R2 holds every removed row as it stood, and every thinned row with its drivers.
    const keys = (await archiveKeys()).filter((k) => !keysBefore.has(k));
    const archive = await archived(keys);
    const gone = before.filter((r) => !afterById.has(r.id as number));
    const thinned = after.filter((r) => r.drivers === "[]" && before.find((b) => b.id === r.id)!.drivers !== "[]");
    expect(thinned.length).toBeGreaterThan(0);
    const archivedScores = archive.get("scores")!;
    const asStored = ({ _retention, _day, ...row }: Row) => ({ ...row, drivers: JSON.stringify(row.drivers), imputed: JSON.stringify(row.imputed) });
    expect(archivedScores.filter((r) => r._retention === "deleted").map(asStored)).toEqual(gone);
    expect(archivedScores.filter((r) => r._retention === "drivers dropped").map(asStored)).toEqual(thinned.map((r) => before.find((b) => b.id === r.id)));
    expect(counts.scores).toMatchObject({ deleted: gone.length, thinned: thinned.length });
    const goneSnaps = snapsBefore.filter((r) => !snapsAfter.some((a) => a.rid === r.rid)).map(({ rid, ...r }) => r);
    expect(archive.get("signal_snapshots")!.map(({ _retention, _day, ...r }) => ({ ...r, features: JSON.stringify(r.features) }))).toEqual(goneSnaps);
    expect(archive.get("events")!.map((r) => r.id).sort()).toEqual(["evt_old", "evt_old_run"]);
    expect(archive.get("webhook_deliveries")!.map((r) => r.id)).toEqual(["dlv_old"]);
    expect(archive.get("shadow_scores")!.map((r) => `${r.run_id}/${r.account_id}`)).toEqual(ACCOUNTS.map((a) => `run_shadow_old/${a}`));
    expect(archive.get("rescore_chunks")!.map((r) => r.run_id)).toEqual(["run_old"]);
    // With 300-row pages, the scores went out in several objects, each named by its day and rows.
    expect(keys.filter((k) => k.startsWith(`archive/scores/${DAY}/`)).length).toBeGreaterThan(1);
    for (const k of keys) expect(k).toMatch(/^archive\/[a-z_]+\/2026-06-17\/\d{12}-\d{12}-\d+\.jsonl\.gz$/);

    // A second run: nothing to do, nothing written.
    const tables = ["scores", "signal_snapshots", "events", "webhook_deliveries", "rescore_chunks", "shadow_scores"];
    const state = async () => Promise.all(tables.map((t) => dump(`SELECT rowid AS rid, * FROM ${t} ORDER BY rowid`)));
    const once = await state();
    const again = await runRetention(env, NOW, { page: 300 });
    expect(Object.values(again).every((c) => c.deleted === 0 && c.thinned === 0 && c.objects === 0)).toBe(true);
    expect(await state()).toEqual(once);
    expect((await archiveKeys()).filter((k) => !keysBefore.has(k))).toEqual(keys);
  });

  it("keeps the first score of each week in a weekly band", async () => {
    await history("RW-A", 120);
    const policy = retentionPolicy({ RETENTION_SCORE_DAILY_DAYS: "7", RETENTION_SCORE_WEEKLY_DAYS: "63", RETENTION_SCORE_MONTHLY_DAYS: "400" });
    const cut = cutoffs(policy, DAY);
    const before = await dump("SELECT id, scored_at FROM scores WHERE account_id = 'RW-A' ORDER BY id");
    await processRetention(env, { retention: DAY, part: only("RW-") }, { policy, waitForRescoring: false });
    const days = (await dump("SELECT scored_at FROM scores WHERE account_id = 'RW-A' ORDER BY id")).map((r) => (r.scored_at as string).slice(0, 10));
    const weekly = days.filter((d) => d < cut.scoreDaily && d >= cut.scoreWeekly);
    // 56 days of the weekly band: its first day and then Mondays, one a week.
    expect(weekly[0]).toBe(cut.scoreWeekly);
    for (const d of weekly.slice(1)) expect(new Date(`${d}T00:00:00Z`).getUTCDay()).toBe(1);
    expect(new Set(weekly.map(weekOf)).size).toBe(weekly.length);
    expect(weekly.length).toBe(9);
    expect(days.filter((d) => d >= cut.scoreDaily)).toHaveLength(8);
    const kept = keptByBands(before.map((r) => r.scored_at as string), { daily: cut.scoreDaily, weekly: cut.scoreWeekly, monthly: cut.scoreMonthly }, (i) => i === before.length - 1);
    expect(days).toEqual(before.filter((_, i) => kept[i]).map((r) => (r.scored_at as string).slice(0, 10)));
  });

  it("keeps drivers for as many days as RETENTION_SCORE_DRIVERS_DAYS says", async () => {
    await history("RD-A", 6);
    const policy = retentionPolicy({ RETENTION_SCORE_DRIVERS_DAYS: "3", RETENTION_SCORE_DAILY_DAYS: "7", RETENTION_SCORE_WEEKLY_DAYS: "7" });
    expect((await processRetention(env, { retention: DAY, part: only("RD-") }, { policy, waitForRescoring: false })).status).toBe("done");
    const withDrivers = await dump(`SELECT substr(scored_at, 1, 10) AS day FROM scores WHERE account_id = 'RD-A' AND drivers <> '[]' ORDER BY day`);
    expect(withDrivers.map((r) => r.day)).toEqual([daysBefore(DAY, 3), daysBefore(DAY, 2), daysBefore(DAY, 1), DAY]);
  });

  it("refuses bad periods before touching anything", () => {
    expect(() => retentionPolicy({ RETENTION_SCORE_WEEKLY_DAYS: "400" })).toThrow(/RETENTION_SCORE_WEEKLY_DAYS \(400\) must not exceed RETENTION_SCORE_MONTHLY_DAYS/);
    expect(() => retentionPolicy({ RETENTION_EVENT_DAYS: "ninety" })).toThrow(/whole number/);
  });
});

describe("retention messages", () => {
  it("wait while today's rescoring has not reached their range, and continue in another message when their page budget runs out", async () => {
    await history("RM-A", 300);
    const range = only("RM-");
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO rescore_runs (id, trigger, status, model_version, started_at) VALUES ('run_today', 'cron', 'running', 'churn-test', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
      env.DB.prepare(`INSERT INTO rescore_chunks (run_id, chunk, from_id, to_id) VALUES ('run_today', 0, 'RA', NULL)`),
    ]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await processRetention(env, { retention: today, part: range })).status).toBe("waiting");
    await env.DB.prepare(`UPDATE rescore_chunks SET status = 'completed' WHERE run_id = 'run_today'`).run();
    const first = await processRetention(env, { retention: DAY, part: range }, { page: 100, maxPages: 2 });
    expect(first.status).toBe("more");
    expect(first.counts.scores.deleted + first.counts.scores.thinned).toBe(200);
  });

  it("are consumed from the retention queue and acknowledged", async () => {
    await history("RQ-A", 40);
    const batch = createMessageBatch("foresight-retention", [{ id: "r1", timestamp: NOW, attempts: 1, body: { retention: DAY, part: only("RQ-") } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["r1"]);
    // 40 days of daily snapshots → the first of each month (and of the band) plus the newest.
    const kept = (await dump("SELECT as_of FROM signal_snapshots WHERE account_id = 'RQ-A' ORDER BY as_of")).map((r) => r.as_of as string);
    expect(kept).toEqual([daysBefore(DAY, 40), "2026-06-01", DAY]);
  });
});
