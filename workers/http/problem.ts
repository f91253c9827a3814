/**
 * The one way the API fails: RFC 9457 `application/problem+json`, with `errors[]` naming each
 * field at fault. Every error path, chanfana's validation included, ends in `toProblem`.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ZodError } from "zod";
import type { FieldError } from "../../shared/model/features";

export type { FieldError };

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** An error that leaves the API as problem+json. `type` is a short slug under /problems/. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** A 422 listing the fields at fault. */
export function invalid(detail: string, errors: FieldError[]): Problem {
  return new Problem(422, "validation-error", detail, errors);
}

export function problemResponse(p: Problem, instance?: string, requestId?: string): Response {
  const body = {
    type: `/problems/${p.type}`,
    title: TITLES[p.status] ?? "Error",
    status: p.status,
    detail: p.detail,
    ...(instance ? { instance } : {}),
    ...(p.errors.length ? { errors: p.errors } : {}),
    ...(requestId ? { requestId } : {}),
  };
  return new Response(JSON.stringify(body), {
    status: p.status,
    headers: { "content-type": "application/problem+json", ...p.headers },
  });
}

/** Zod paths like ["body", "rows", 3, "features"] become "rows[3].features". */
export function fieldPath(path: readonly PropertyKey[]): string {
  const parts = path[0] === "body" || path[0] === "query" || path[0] === "params" ? path.slice(path[0] === "body" ? 1 : 0) : path;
  let out = "";
  // chanfana hands Zod paths over as strings, so array indices arrive as "3".
  for (const p of parts) out += typeof p === "number" || /^\d+$/.test(String(p)) ? `[${String(p)}]` : out ? `.${String(p)}` : String(p);
  return out || "body";
}

interface IssueLike {
  message: string;
  path?: readonly PropertyKey[] | null;
}

/** chanfana wraps Zod issues in InputValidationException/MultiException; read them back. */
function validationIssues(err: unknown): IssueLike[] | undefined {
  if (err instanceof ZodError) return err.issues;
  const e = err as { errors?: unknown[]; path?: unknown; message?: string; constructor?: { name?: string } };
  const name = e?.constructor?.name;
  if (name === "MultiException" && Array.isArray(e.errors)) return e.errors.flatMap((x) => validationIssues(x) ?? []);
  if (name === "InputValidationException") return [{ message: e.message ?? "invalid", path: (e.path as PropertyKey[]) ?? [] }];
  return undefined;
}

/** Hono `onError`: maps anything thrown to problem+json; unknown errors are logged with a request id. */
export function toProblem(err: unknown, c: Context): Response {
  const instance = new URL(c.req.url).pathname;
  if (err instanceof Problem) return problemResponse(err, instance);
  const issues = validationIssues(err);
  if (issues) {
    const errors = issues.map((i) => ({ field: fieldPath(i.path ?? []), detail: i.message }));
    return problemResponse(invalid(`The request has ${errors.length} invalid field(s): ${errors.map((e) => e.field).join(", ")}`, errors), instance);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return problemResponse(new Problem(err.status, "http-error", err.message || TITLES[err.status] || "Request failed"), instance);
  }
  const requestId = crypto.randomUUID();
  console.error(`[${requestId}] ${c.req.method} ${instance}:`, err);
  return problemResponse(new Problem(500, "internal-error", "Something went wrong on our side; quote the requestId when reporting it."), instance, requestId);
}
