/**
 * The export as a byte stream: a header, then each page of rows (rows.ts) encoded as CSV or JSON
 * Lines when the reader asks for more (a pull stream), so memory holds one page whatever the
 * portfolio's size, and a slow reader slows the D1 walk instead of filling a buffer.
 */
import { columnNames, csvHeader, csvRecord, type ExportRow, type Format, jsonlRecord, type Mapping } from "./columns";
import { exportPages, PAGE } from "./rows";

export interface ExportOptions {
  format: Format;
  mapping?: Mapping;
  /** CSV only: start with a UTF-8 byte order mark, so Excel reads the file as UTF-8. */
  bom: boolean;
  pageSize?: number;
}

/** U+FEFF: how Excel knows a CSV is UTF-8 (without it, it reads the file in the local code page). */
const BOM = "\ufeff";

/** Counts what went through a stream (the daily job records both). */
export interface ExportCounter {
  rows: number;
}

/**
 * The whole export as UTF-8 bytes: CSV (RFC 4180: a header record, CRLF line ends, fields with
 * commas, quotes or line breaks quoted) or JSON Lines (one object per account, LF line ends).
 *
 * @example
 *   return new Response(exportStream(env, { format: "csv", bom: true }, "2026-12-01"), { headers: { "content-type": "text/csv; charset=utf-8" } });
 */
export function exportStream(env: Env, options: ExportOptions, today: string, counter: ExportCounter = { rows: 0 }): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const names = columnNames(options.mapping);
  const encode = options.format === "csv" ? csvRecord : (row: ExportRow) => jsonlRecord(row, names);
  let pages: AsyncGenerator<ExportRow[]> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      // Every pull enqueues a chunk or closes: a pull that did neither would leave the reader waiting.
      async pull(controller) {
        if (!pages) {
          pages = exportPages(env, today, options.pageSize ?? PAGE);
          if (options.format === "csv") {
            controller.enqueue(encoder.encode((options.bom ? BOM : "") + csvHeader(options.mapping)));
            return;
          }
        }
        const next = await pages.next();
        if (next.done) {
          controller.close();
          return;
        }
        counter.rows += next.value.length;
        let text = "";
        for (const row of next.value) text += encode(row);
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await pages?.return(undefined);
      },
    },
    // Nothing is read ahead of the reader: one page at a time.
    { highWaterMark: 0 },
  );
}
