/**
 * The daily exports over HTTP: `GET /v1/exports` lists recent days with fresh signed links,
 * `POST /v1/exports` starts today's now, and `GET /v1/exports/{date}` downloads a day's gzipped CSV,
 * either with `?expires=…&sig=…` (no API key: what CRMs' import jobs fetch) or with a key.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { desc, eq } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { bytesToBase64 } from "../../shared/base64";
import { scoreExports } from "../../shared/db/schema";
import { db, today } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { bearer, IsoDate, problems } from "../http/schemas";
import type { StoredExport } from "./job";
import { exportLink, linkKey, verifyExport } from "./links";
import { exportStanding, isWriting, queueExport } from "./queue";
import { DownloadParams, DownloadQuery, ExportList, ExportStarted, ExportView, ListQuery } from "./schemas";

async function view(env: Env, key: CryptoKey, row: StoredExport, now: Date): Promise<z.infer<typeof ExportView>> {
  const { day, status, rows, bytes, sha256, runId, eventId, error, createdAt, finishedAt } = row;
  return { day, status, rows, bytes, sha256, runId, eventId, error, createdAt, finishedAt, link: status === "ready" ? await exportLink(env, key, day, now) : null };
}

export class ListExports extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Exports"],
    summary: "Recent daily exports, with fresh signed download links",
    description:
      "The daily CRM exports (`exports/{day}/scores.csv.gz` in R2), newest day first: `status` (writing, ready, failed), `rows`, `bytes` and `sha256` of the gzipped file, the rescoring run that started it, and for ready ones a fresh `link` (valid for EXPORT_LINK_TTL_SECONDS, 7 days by default) that downloads it without an API key.",
    security: bearer,
    request: { query: ListQuery },
    responses: { "200": { description: "The exports", ...contentJson(ExportList) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const rows = await db(c.env.DB).select().from(scoreExports).orderBy(desc(scoreExports.day)).limit(query.limit ?? 30);
    const now = new Date();
    const key = await linkKey(c.env);
    return { exports: await Promise.all(rows.map((r) => view(c.env, key, r, now))) };
  }
}

export class StartExport extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Exports"],
    summary: "Export today's scores now",
    description:
      "Queues today's (UTC) export, as the daily rescoring run does when it completes: `202 {day, status: \"queued\"}`, or `\"writing\"` when it is already under way. When today's export is ready, `200` with it (one export per day: nothing is written again).",
    security: bearer,
    responses: {
      "200": { description: "Today's export, already ready", ...contentJson(ExportView) },
      "202": { description: "Queued, or already being written", ...contentJson(ExportStarted) },
      ...problems(401, 403, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const now = new Date();
    const day = today(now);
    const standing = await exportStanding(c.env, day);
    if (standing?.status === "ready") {
      const row = (await db(c.env.DB).select().from(scoreExports).where(eq(scoreExports.day, day)).get())!;
      return c.json(await view(c.env, await linkKey(c.env), row, now), 200);
    }
    if (isWriting(standing, now)) return c.json({ day, status: "writing" as const }, 202);
    await queueExport(c.env, day);
    return c.json({ day, status: "queued" as const }, 202);
  }
}

/** The gzipped file of a ready day, or the 404 naming `date`. */
async function download(env: Env, day: string): Promise<Response> {
  const row = await db(env.DB).select().from(scoreExports).where(eq(scoreExports.day, day)).get();
  const object = row?.status === "ready" ? await env.MODELS.get(row.r2Key) : null;
  if (!row || !object) {
    const why = !row ? "no export was made that day" : row.status !== "ready" ? `its export is ${row.status}` : "its file is no longer in R2";
    throw new Problem(404, "export-not-found", `No export to download for ${day}: ${why}. GET /v1/exports lists the days there are.`, [{ field: "date", detail: why }]);
  }
  const headers: Record<string, string> = {
    "content-type": "application/gzip",
    "content-length": String(object.size),
    "content-disposition": `attachment; filename="foresight-scores-${day}.csv.gz"`,
    "cache-control": "private, no-store",
    etag: object.httpEtag,
  };
  // RFC 9530: the digest of the bytes sent, so an import job can check what it received.
  if (row.sha256) headers["content-digest"] = `sha-256=:${bytesToBase64(Uint8Array.from(row.sha256.match(/../g)!, (h) => parseInt(h, 16)))}:`;
  return new Response(object.body, { headers });
}

const DAY_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Runs before the key check on `/v1/exports/:date`: a request carrying `expires` or `sig` is a
 * signed link and is answered here, without a key (bad input 422; a bad signature or an expired
 * link 403; an unknown day 404). Anything else (no signature; `scores.csv`) goes on to the key check.
 */
export const signedDownload: MiddlewareHandler<AppEnv> = async (c, next) => {
  const day = c.req.param("date") ?? "";
  const expires = c.req.query("expires");
  const sig = c.req.query("sig");
  if (!DAY_SHAPE.test(day) || (expires === undefined && sig === undefined)) return next();
  const date = IsoDate.safeParse(day);
  if (!date.success) throw invalid(`'${day}' is not a day.`, [{ field: "params.date", detail: date.error.issues[0]?.message ?? "must be YYYY-MM-DD" }]);
  if (expires === undefined || !/^\d{1,12}$/.test(expires)) throw invalid("A signed link needs `expires`, a Unix time in seconds.", [{ field: "query.expires", detail: "must be whole seconds since 1970" }]);
  if (!sig) throw invalid("A signed link needs `sig`.", [{ field: "query.sig", detail: "required with expires" }]);
  if (!(await verifyExport(await linkKey(c.env), day, Number(expires), sig))) {
    throw new Problem(403, "bad-signature", "This download link's signature is not valid: it was changed, or signed with another key. Get a fresh link from GET /v1/exports.", [{ field: "query.sig", detail: "does not match" }]);
  }
  if (Number(expires) * 1000 <= Date.now()) {
    throw new Problem(403, "link-expired", `This download link expired at ${new Date(Number(expires) * 1000).toISOString()}. Get a fresh link from GET /v1/exports.`, [{ field: "query.expires", detail: "in the past" }]);
  }
  return download(c.env, day);
};

export class DownloadExport extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Exports"],
    summary: "Download a day's export (gzipped CSV), by signed link or with a key",
    description:
      "The day's `exports/{day}/scores.csv.gz` as stored: the CSV of `GET /v1/exports/scores.csv` (with BOM, no mapping), gzipped, with `content-digest` (its SHA-256). With `expires` and `sig` (the link in `export.ready` and `GET /v1/exports`) no API key is needed: a changed signature or an expired link is a 403 problem. Without them, a key with the admin or score scope. A day with no ready export is a 404.",
    security: [{}, ...bearer],
    request: { params: DownloadParams, query: DownloadQuery },
    responses: {
      "200": { description: "The gzipped CSV", content: { "application/gzip": { schema: z.string() } } },
      ...problems(401, 403, 404, 422, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return download(c.env, params.date);
  }
}
