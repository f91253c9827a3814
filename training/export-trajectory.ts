/**
 * `npm run export-training -- --target trajectory`: the platform's own history as a trajectory
 * panel (the format `npm run train -- --target trajectory` reads): one row per account per signal
 * snapshot, with the health of the latest score made on or before that day, the days to the
 * account's renewal, and the signals as they stood. Retention keeps monthly snapshots and scores
 * beyond the last two days, so an exported panel is monthly past them.
 */
import { toCsv } from "../shared/csv";
import type { Query } from "./export";

export interface TrajectoryPanelExport {
  header: string[];
  rows: (string | number)[][];
  accounts: number;
  /** Snapshots with no score on or before their day (so no health): left out. */
  unscored: number;
}

const PAGE = 500;

/**
 * Reads the panel, paging through accounts by id.
 *
 * @example
 *   const panel = await exportTrajectoryPanel(d1Query(env.DB));
 *   writeFileSync("panel.csv", trajectoryPanelCsv(panel));
 */
export async function exportTrajectoryPanel(query: Query): Promise<TrajectoryPanelExport> {
  const records: { id: string; asOf: string; health: number; renewal: string | null; features: Record<string, unknown> }[] = [];
  let unscored = 0;
  let after = "";
  for (;;) {
    const ids = (await query(`SELECT id, renewal_date FROM accounts WHERE id > ?1 ORDER BY id LIMIT ${PAGE}`, [after])) as { id: string; renewal_date: string | null }[];
    if (ids.length === 0) break;
    const last = String(ids[ids.length - 1].id);
    const rows = await query(
      `SELECT s.account_id, s.as_of, s.features,
         (SELECT coalesce(sc.health, CAST(round(100 * (1 - sc.churn_probability)) AS INTEGER)) FROM scores sc
          WHERE sc.account_id = s.account_id AND substr(sc.scored_at, 1, 10) <= s.as_of ORDER BY sc.scored_at DESC, sc.id DESC LIMIT 1) AS health
       FROM signal_snapshots s WHERE s.account_id > ?1 AND s.account_id <= ?2 ORDER BY s.account_id, s.as_of`,
      [after, last],
    );
    const renewal = new Map(ids.map((r) => [String(r.id), r.renewal_date]));
    for (const r of rows) {
      if (r.health === null || r.health === undefined) {
        unscored++;
        continue;
      }
      const id = String(r.account_id);
      records.push({ id, asOf: String(r.as_of), health: Number(r.health), renewal: renewal.get(id) ?? null, features: JSON.parse(String(r.features)) as Record<string, unknown> });
    }
    after = last;
    if (ids.length < PAGE) break;
  }
  const reserved = new Set(["account_id", "as_of", "health", "renewal_date"]);
  const columns = [...new Set(records.flatMap((r) => Object.keys(r.features)))].filter((c) => !reserved.has(c)).sort();
  const cell = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" || typeof v === "boolean" ? String(v) : "");
  return {
    header: ["account_id", "as_of", "health", "renewal_date", ...columns],
    // A renewal date before the snapshot says nothing about the renewal that was coming then.
    rows: records.map((r) => [r.id, r.asOf, r.health, r.renewal && r.renewal >= r.asOf ? r.renewal : "", ...columns.map((c) => cell(r.features[c]))]),
    accounts: new Set(records.map((r) => r.id)).size,
    unscored,
  };
}

export function trajectoryPanelCsv(p: TrajectoryPanelExport): string {
  return toCsv(p.header, p.rows);
}
