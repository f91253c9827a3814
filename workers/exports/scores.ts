/**
 * `GET /v1/exports/scores.csv`: every scored account's current score for a CRM, streamed page by
 * page (stream.ts) as CSV or, with `?format=jsonl`, JSON Lines; `?mapping=salesforce|hubspot`
 * names the columns as those CRMs' custom fields (columns.ts).
 */
import { OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { today } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { EXPORT_COLUMNS } from "./columns";
import { ExportQuery } from "./schemas";
import { exportStream } from "./stream";

const COLUMNS_TEXT = EXPORT_COLUMNS.map((c) => `\`${c.name}\``).join(", ");

export class ExportScores extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Exports"],
    summary: "Every account's current score as CSV (or JSON Lines), for a CRM",
    description: `Streams every scored account (id order, 1,000 accounts a D1 query, so memory stays bounded at any portfolio size) with its current score. CSV is RFC 4180: a header record, CRLF line ends, fields holding a comma, a quote or a line break quoted (quotes doubled), UTF-8 with a byte order mark so Excel reads it right (\`bom=false\` leaves it out). \`format=jsonl\`: one JSON object per line with the same fields, typed (no BOM). \`mapping=salesforce|hubspot\` renames the columns to those CRMs' custom-field API names (README "CRM export" lists them with the field types to create). Columns: ${COLUMNS_TEXT}. The playbook is blank for accounts the randomized holdout holds out. Accounts never scored are left out.`,
    security: bearer,
    request: { query: ExportQuery },
    responses: {
      "200": {
        description: "The export, streamed",
        content: { "text/csv": { schema: z.string() }, "application/x-ndjson": { schema: z.string() } },
      },
      ...problems(401, 403, 422, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const format = query.format ?? "csv";
    const day = today();
    const body = exportStream(c.env, { format, mapping: query.mapping, bom: query.bom !== "false" }, day);
    const file = `foresight-scores-${day}${query.mapping ? `-${query.mapping}` : ""}.${format}`;
    return new Response(body, {
      headers: {
        "content-type": format === "csv" ? "text/csv; charset=utf-8; header=present" : "application/x-ndjson; charset=utf-8",
        "content-disposition": `attachment; filename="${file}"`,
        "cache-control": "no-store",
      },
    });
  }
}
