/**
 * The CRM export's request and response shapes. An export as the API shows it derives from the
 * `score_exports` table (drizzle-zod), with the fresh signed link beside it.
 */
import { createSelectSchema } from "drizzle-zod";
import { z } from "zod";
import { scoreExports } from "../../shared/db/schema";
import { IsoDate } from "../http/schemas";
import { FORMATS, MAPPINGS } from "./columns";

const stored = createSelectSchema(scoreExports);

export const ExportQuery = z.object({
  format: z.enum(FORMATS).optional().describe("csv (default) or jsonl (JSON Lines: one object per account, the same fields)"),
  mapping: z.enum(MAPPINGS).optional().describe("Rename the columns to Salesforce's or HubSpot's custom-field API names (README \"CRM export\")"),
  bom: z.enum(["true", "false"]).optional().describe("CSV only: start with a UTF-8 byte order mark so Excel reads it as UTF-8 (default true)"),
});

export const Link = z.object({
  path: z.string().describe("/v1/exports/{day}?expires=…&sig=…: works without an API key until it expires"),
  url: z.string().nullable().describe("PUBLIC_URL + path; null when the PUBLIC_URL var is empty"),
  expiresAt: z.string().describe("When the link stops working (EXPORT_LINK_TTL_SECONDS after it was made)"),
});

export const ExportView = stored
  .pick({ day: true, status: true, rows: true, bytes: true, sha256: true, runId: true, eventId: true, error: true, createdAt: true, finishedAt: true })
  .extend({
    rows: stored.shape.rows.describe("Accounts in the file"),
    bytes: stored.shape.bytes.describe("Size of the gzipped file"),
    sha256: stored.shape.sha256.describe("SHA-256 (hex) of the gzipped file as stored and downloaded"),
    runId: stored.shape.runId.describe("The rescoring run whose completion started it, if one did"),
    createdAt: stored.shape.createdAt.describe("When the current attempt began"),
    link: Link.nullable().describe("A fresh signed download link; null unless the export is ready"),
  });

export const ExportList = z.object({ exports: z.array(ExportView).describe("Newest day first") });

export const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(366).optional().describe("Days, default 30") });

export const ExportStarted = stored.pick({ day: true }).extend({
  status: z.enum(["queued", "writing"]).describe("queued: a message was sent; writing: today's export is already under way (nothing sent)"),
});

export const DownloadParams = z.object({ date: IsoDate.describe("The export's day (UTC), YYYY-MM-DD") });

export const DownloadQuery = z.object({
  expires: z.string().optional().describe("Unix time (seconds) the signed link expires at; with `sig`, no API key is needed"),
  sig: z.string().optional().describe("base64url HMAC-SHA256 of `export:{date}:{expires}`"),
});
