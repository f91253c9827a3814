/**
 * A small RFC 4180 CSV reader: quoted fields, escaped quotes, CRLF or LF line ends, and a
 * header row. Returns the header and rows of strings; no type guessing happens here.
 */

export interface Csv {
  header: string[];
  rows: string[][];
}

/**
 * Parses CSV text with a header row.
 *
 * @example
 *   const { header, rows } = parseCsv("a,b\n1,\"x,y\"\n");
 *   // header = ["a", "b"], rows = [["1", "x,y"]]
 */
export function parseCsv(text: string): Csv {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let inQuotes = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  for (; i < n; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else field += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === ",") {
      record.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      field = "";
      if (record.length > 1 || record[0] !== "") records.push(record);
      record = [];
    } else field += ch;
  }
  if (inQuotes) throw new Error("CSV ends inside a quoted field");
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  if (records.length === 0) throw new Error("CSV is empty");
  const header = records[0].map((h) => h.trim());
  const rows = records.slice(1);
  rows.forEach((r, k) => {
    if (r.length !== header.length) throw new Error(`CSV row ${k + 2} has ${r.length} fields; the header has ${header.length}`);
  });
  return { header, rows };
}

/** Rows as objects keyed by header name. */
export function csvRecords(csv: Csv): Record<string, string>[] {
  return csv.rows.map((r) => Object.fromEntries(csv.header.map((h, j) => [h, r[j]])));
}

/** Writes rows as CSV, quoting where needed. */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";
}
