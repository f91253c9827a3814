/**
 * What the export tests share: a strict RFC 4180 reader (stricter than shared/csv.ts: it refuses a
 * quote inside an unquoted field, a bare CR or LF between records, and anything after a closing
 * quote but a comma or CRLF), gunzip, and accounts ingested and scored through the API.
 */
import { expect } from "vitest";
import { call } from "../helpers";

/**
 * Parses CSV as RFC 4180 writes it: records end with CRLF (the last one too), fields are either
 * plain (no comma, quote, CR or LF) or quoted with quotes doubled. Throws at the first deviation.
 */
export function strictCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  const fail = (why: string) => {
    throw new Error(`not RFC 4180 at character ${i}: ${why} (near ${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))})`);
  };
  while (i < text.length) {
    const record: string[] = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) fail("ends inside a quoted field");
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
            } else {
              i++;
              break;
            }
          } else field += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== "," && text[i] !== "\r") {
          if (text[i] === '"' || text[i] === "\n") fail("quote or line feed in an unquoted field");
          field += text[i++];
        }
      }
      record.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r" && text[i + 1] === "\n") {
        i += 2;
        break;
      }
      fail("a field must end with a comma or CRLF");
    }
    records.push(record);
  }
  return records;
}

/** Header and rows of a strict CSV as objects keyed by the header. */
export function csvObjects(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...rows] = strictCsv(text);
  for (const r of rows) expect(r.length).toBe(header.length);
  return { header, rows: rows.map((r) => Object.fromEntries(header.map((h, j) => [h, r[j]]))) };
}

/** Gunzipped bytes as UTF-8 text, keeping a byte order mark. */
export async function gunzipText(body: ArrayBuffer): Promise<string> {
  return rawText(await new Response(new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
}

/** The body as UTF-8 text, keeping a byte order mark (Response.text() would drop it). */
export async function rawText(res: Response | ArrayBuffer): Promise<string> {
  const bytes = res instanceof Response ? await res.arrayBuffer() : res;
  return new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(bytes);
}

/** Upserts accounts (1,000 a request) and scores every one of them through the API. */
export async function ingestAndScore(key: string, accounts: { id: string; name?: string; owner?: string; arr?: number; features: Record<string, unknown> }[]): Promise<void> {
  for (let i = 0; i < accounts.length; i += 1000) {
    const part = accounts.slice(i, i + 1000);
    const put = await call("POST", "/v1/accounts/batch", { key, body: { accounts: part } });
    expect(put.status, await put.clone().text()).toBe(200);
    const scored = await call("POST", "/v1/score/batch", { key, body: { rows: part.map((a) => ({ accountId: a.id })) } });
    expect(scored.status, await scored.clone().text()).toBe(200);
  }
}
