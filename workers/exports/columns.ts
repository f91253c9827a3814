/**
 * The CRM export's columns, written once: each with its name in the plain export, the Salesforce
 * and HubSpot custom-field API names `?mapping=` renames it to (and the field type to create in
 * each CRM), and how a value is written in CSV and in JSON Lines. Pure: the stream (stream.ts), the
 * daily file (job.ts) and the README's mapping table all read this one table.
 */

/** One account's row in the export: its current score and the playbook that applies. */
export interface ExportRow {
  id: string;
  name: string | null;
  owner: string | null;
  arr: number | null;
  churnProbability: number;
  tier: string;
  health: number;
  trend: string | null;
  actBy: string | null;
  driver1: string | null;
  driver2: string | null;
  driver3: string | null;
  expansionReady: boolean | null;
  expansionProbability: number | null;
  playbookId: string | null;
  playbookName: string | null;
  modelVersion: string;
  scoredAt: string;
}

export const MAPPINGS = ["salesforce", "hubspot"] as const;
export type Mapping = (typeof MAPPINGS)[number];

export const FORMATS = ["csv", "jsonl"] as const;
export type Format = (typeof FORMATS)[number];

export interface ExportColumn {
  key: keyof ExportRow;
  /** The column in the plain export (no `mapping`). */
  name: string;
  /** The Salesforce custom field's API name on Account (or the standard field), and the type to create. */
  salesforce: { field: string; type: string };
  /** The HubSpot company property's internal name, and the type to create. */
  hubspot: { field: string; type: string };
  description: string;
}

const sf = (field: string, type: string) => ({ field, type });
const hs = sf;

/** The columns, in file order. */
export const EXPORT_COLUMNS: readonly ExportColumn[] = [
  { key: "id", name: "id", salesforce: sf("Foresight_Account_Id__c", "Text(128), External ID, Unique"), hubspot: hs("foresight_account_id", "Single-line text, unique values"), description: "Your account id (as ingested): the key to match records on" },
  { key: "name", name: "name", salesforce: sf("Name", "standard Account Name"), hubspot: hs("name", "standard company name"), description: "The account's name" },
  { key: "owner", name: "owner", salesforce: sf("Foresight_Owner__c", "Text(255)"), hubspot: hs("foresight_owner", "Single-line text"), description: "The account's owner (CSM) as ingested" },
  { key: "arr", name: "arr", salesforce: sf("Foresight_ARR__c", "Currency(16, 2)"), hubspot: hs("foresight_arr", "Number (currency)"), description: "Annual recurring revenue" },
  { key: "churnProbability", name: "churn_probability", salesforce: sf("Foresight_Churn_Probability__c", "Number(1, 4)"), hubspot: hs("foresight_churn_probability", "Number"), description: "Calibrated churn probability, 0–1, to 4 decimals" },
  { key: "tier", name: "tier", salesforce: sf("Foresight_Tier__c", "Picklist: red, yellow, green, blue"), hubspot: hs("foresight_tier", "Dropdown select: red, yellow, green, blue"), description: "Portfolio tier (the risk tier; blue when expansion-ready)" },
  { key: "health", name: "health", salesforce: sf("Foresight_Health__c", "Number(3, 0)"), hubspot: hs("foresight_health", "Number"), description: "round(100 × (1 − churn probability)), 0–100" },
  { key: "trend", name: "trend", salesforce: sf("Foresight_Trend__c", "Picklist: improving, stable, declining"), hubspot: hs("foresight_trend", "Dropdown select: improving, stable, declining"), description: "Health trajectory as of the latest rescoring; blank before one" },
  { key: "actBy", name: "act_by", salesforce: sf("Foresight_Act_By__c", "Date"), hubspot: hs("foresight_act_by", "Date picker"), description: "Latest day to act (YYYY-MM-DD); blank when nothing is due" },
  { key: "driver1", name: "driver_1", salesforce: sf("Foresight_Driver_1__c", "Text(255)"), hubspot: hs("foresight_driver_1", "Single-line text"), description: "The largest driver of the score, in words" },
  { key: "driver2", name: "driver_2", salesforce: sf("Foresight_Driver_2__c", "Text(255)"), hubspot: hs("foresight_driver_2", "Single-line text"), description: "The second driver, in words" },
  { key: "driver3", name: "driver_3", salesforce: sf("Foresight_Driver_3__c", "Text(255)"), hubspot: hs("foresight_driver_3", "Single-line text"), description: "The third driver, in words" },
  { key: "expansionReady", name: "expansion_ready", salesforce: sf("Foresight_Expansion_Ready__c", "Checkbox"), hubspot: hs("foresight_expansion_ready", "Single checkbox"), description: "true or false; blank for scores from before expansion readiness" },
  { key: "expansionProbability", name: "expansion_probability", salesforce: sf("Foresight_Expansion_Probability__c", "Number(1, 4)"), hubspot: hs("foresight_expansion_probability", "Number"), description: "Expansion probability (or the scorecard's readiness), 0–1, to 4 decimals" },
  { key: "playbookId", name: "playbook_id", salesforce: sf("Foresight_Playbook_Id__c", "Text(64)"), hubspot: hs("foresight_playbook_id", "Single-line text"), description: "The playbook that applies; blank for green accounts and for the holdout's control group" },
  { key: "playbookName", name: "playbook_name", salesforce: sf("Foresight_Playbook__c", "Text(255)"), hubspot: hs("foresight_playbook", "Single-line text"), description: "Its name" },
  { key: "modelVersion", name: "model_version", salesforce: sf("Foresight_Model_Version__c", "Text(64)"), hubspot: hs("foresight_model_version", "Single-line text"), description: "The churn model that produced the score" },
  { key: "scoredAt", name: "scored_at", salesforce: sf("Foresight_Scored_At__c", "Date/Time"), hubspot: hs("foresight_scored_at", "Date and time"), description: "When the score was made (ISO 8601, UTC)" },
];

/** The column names a mapping gives (the plain ones without one). */
export function columnNames(mapping?: Mapping): string[] {
  return EXPORT_COLUMNS.map((c) => (mapping ? c[mapping].field : c.name));
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return "";
  const s = String(value);
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 ends every record with CRLF (line breaks inside quoted names stay as they are). */
export const CRLF = "\r\n";

/** The header record. */
export function csvHeader(mapping?: Mapping): string {
  return columnNames(mapping).map(csvField).join(",") + CRLF;
}

/** One account as a CSV record. */
export function csvRecord(row: ExportRow): string {
  let out = "";
  for (let i = 0; i < EXPORT_COLUMNS.length; i++) out += (i ? "," : "") + csvField(row[EXPORT_COLUMNS[i].key]);
  return out + CRLF;
}

/** One account as a JSON Lines record: the same fields, named as the mapping names them, typed. */
export function jsonlRecord(row: ExportRow, names: readonly string[]): string {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < EXPORT_COLUMNS.length; i++) o[names[i]] = row[EXPORT_COLUMNS[i].key];
  return `${JSON.stringify(o)}\n`;
}

/** Probabilities go out to 4 decimals: what a CRM's Number(1, 4) field holds. */
export function round4(p: number | null): number | null {
  return p === null ? null : Math.round(p * 10_000) / 10_000;
}
