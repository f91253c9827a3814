/**
 * What `npm run bench:rescore`'s rows cost D1 in bytes, read from the local database file with
 * sqlite3 (SQLite's dbstat): pages per table, and a score row with and without its drivers.
 */
import { readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "./processes";

/** Bytes of pages per table (with its indexes), their total, and the file's size. */
export interface TableBytes {
  total: number;
  byTable: Record<string, number>;
  fileBytes: number;
}

/** Bytes per score row: as written (`full`), thinned (vacuumed / in place), and per shadow score. */
export interface ScoreRowBytes {
  full: number;
  slim: number;
  slimInPlace: number;
  rows: number;
  shadow: number;
}

/** The local D1 database file of a state dir (wrangler keeps one per binding). */
export function d1File(stateDir: string): string {
  const dir = path.join(stateDir, "v3/d1/miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((n) => n.endsWith(".sqlite") && n !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 database under ${dir}`);
  return path.join(dir, file);
}

/** Table (with its indexes) → bytes of pages, from SQLite's dbstat; read-only. */
export async function tableBytes(file: string): Promise<TableBytes> {
  const out = await run("sqlite3", ["-readonly", "-json", file, "SELECT coalesce(m.tbl_name, d.name) AS t, sum(d.pgsize) AS bytes FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY t"]);
  const rows = JSON.parse(out || "[]") as { t: string; bytes: number }[];
  const byTable = Object.fromEntries(rows.map((r) => [r.t, r.bytes]));
  const pages = await run("sqlite3", ["-readonly", file, "PRAGMA page_count; PRAGMA page_size;"]);
  const [count, size] = pages.trim().split("\n").map(Number);
  return { total: rows.reduce((a, r) => a + r.bytes, 0), byTable, fileBytes: count * size };
}

/** Bytes of one table (data + indexes). */
export const bytesOf = (b: { byTable: Record<string, number> }, table: string) => b.byTable[table] ?? 0;

/**
 * Bytes per score row with drivers and without (drivers `[]`, no expansion reason or run id: the
 * thinned history row of the retention job), on a vacuumed copy so free space does not count: `slim` after
 * a VACUUM, `slimInPlace` as the pages stand after the UPDATE (what D1, which does not vacuum,
 * keeps until the freed space is reused).
 */
export async function scoreRowBytes(file: string, runId: string): Promise<ScoreRowBytes> {
  const copy = path.join(os.tmpdir(), `foresight-rescore-${process.pid}.sqlite`);
  const vac = `${copy}.v`;
  rmSync(copy, { force: true });
  rmSync(vac, { force: true });
  const scoresBytes = async (f: string) =>
    (JSON.parse(await run("sqlite3", ["-json", f, "SELECT (SELECT count(*) FROM scores) AS n, (SELECT sum(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'scores') AS bytes"]))[0] as { n: number; bytes: number });
  try {
    await run("sqlite3", [file, `VACUUM INTO '${copy}'`]);
    const before = await scoresBytes(copy);
    // A shadow model's score per account of the run, as a rescoring run with a shadow writes them.
    const shadowed = JSON.parse(
      await run("sqlite3", ["-json", copy, `INSERT INTO shadow_scores SELECT run_id, account_id, replace(model_version, 'churn-', 'churn-shadow-'), churn_probability, scored_at FROM scores WHERE run_id = '${runId}'; SELECT changes() AS n, (SELECT sum(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = 'shadow_scores') AS bytes`]),
    )[0] as { n: number; bytes: number };
    const changed = Number((await run("sqlite3", [copy, `UPDATE scores SET drivers = '[]', expansion_reason = NULL, run_id = NULL WHERE run_id = '${runId}'; SELECT changes();`])).trim());
    const inPlace = await scoresBytes(copy);
    await run("sqlite3", [copy, `VACUUM INTO '${vac}'`]);
    const after = await scoresBytes(vac);
    const full = before.bytes / before.n;
    // The thinned rows gave up (before − after) bytes in total.
    return { full, slim: full - (before.bytes - after.bytes) / changed, slimInPlace: full - (before.bytes - inPlace.bytes) / changed, rows: before.n, shadow: shadowed.bytes / shadowed.n };
  } finally {
    rmSync(copy, { force: true });
    rmSync(vac, { force: true });
  }
}
