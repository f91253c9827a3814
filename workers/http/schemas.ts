/**
 * Request shapes every concept uses (ids, signals, dates) and the problem+json responses. A
 * concept's own shapes live in its folder, derived from its drizzle table (drizzle-zod); the
 * OpenAPI document is generated from these Zod schemas.
 */
import { z } from "zod";

export const AccountId = z
  .string()
  .regex(/^[A-Za-z0-9._:@-]{1,128}$/, "must be 1-128 characters of letters, digits and . _ : @ -")
  .describe("Your account id, as in your CRM");

/** A signal value: number, string or boolean; null means missing (the model imputes it). */
export const SignalValue = z.union([z.number(), z.string().max(1000), z.boolean(), z.null()]);

export const Features = z
  .record(z.string().min(1).max(200), SignalValue)
  .describe("Signals keyed by your own column names, e.g. {\"tenure\": 2, \"Contract\": \"Month-to-month\"}");

/** A calendar day as YYYY-MM-DD; a day that does not exist (2026-02-30) is refused, not rolled over. */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date as YYYY-MM-DD")
  .refine((s) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
  }, "is not a real date");

export const ProblemDetails = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), detail: z.string() })).optional(),
});

/** OpenAPI responses for the problems a route can answer with. */
export function problems(...statuses: number[]) {
  const text: Record<number, string> = {
    400: "Malformed JSON",
    401: "Missing or invalid API key",
    403: "The key lacks the scope",
    404: "Not found",
    413: "Body over 1 MB",
    415: "Body is not JSON",
    422: "Invalid fields, listed in errors[]",
    429: "Rate limit exceeded; retry after Retry-After seconds",
    503: "No active model",
  };
  return Object.fromEntries(
    statuses.map((s) => [String(s), { description: text[s] ?? "Problem", content: { "application/problem+json": { schema: ProblemDetails } } }]),
  );
}

export const bearer = [{ bearer: [] as string[] }];
