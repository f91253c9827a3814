/**
 * Reads JSON request bodies once, before any route: refuses bodies over the limit (413),
 * non-JSON media types (415) and malformed JSON (400), then hands routes a fresh Request so
 * chanfana can validate the same bytes against the route's schema.
 */
import type { MiddlewareHandler } from "hono";
import { Problem } from "./problem";

/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1_000_000;

async function readLimited(req: Request, limit: number): Promise<string> {
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function tooLarge(limit: number): Problem {
  return new Problem(413, "body-too-large", `The request body exceeds ${limit} bytes.`, [{ field: "body", detail: `at most ${limit} bytes` }]);
}

export function jsonBody(limit = MAX_BODY_BYTES): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
    const length = Number(c.req.header("content-length") ?? "0");
    if (length > limit) throw tooLarge(limit);
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    const text = await readLimited(c.req.raw, limit);
    if (text.trim() === "") {
      // Routes without a body (e.g. activate) accept an empty one; routes with one say it's missing.
      c.req.raw = new Request(c.req.raw.url, { method, headers: c.req.raw.headers });
      return next();
    }
    if (!/^application\/([a-z0-9.+-]*\+)?json\b/.test(type) && !(method === "PATCH" && type.startsWith("application/merge-patch+json"))) {
      throw new Problem(415, "unsupported-media-type", `Send JSON with Content-Type: application/json (got ${type || "none"}).`, [{ field: "content-type", detail: "must be application/json" }]);
    }
    try {
      JSON.parse(text);
    } catch (e) {
      throw new Problem(400, "malformed-json", `The request body is not valid JSON: ${(e as Error).message}`, [{ field: "body", detail: "malformed JSON" }]);
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.raw.url, { method, headers, body: text });
    return next();
  };
}
