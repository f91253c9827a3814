/**
 * Webhook endpoints (`/v1/webhooks`) and their delivery log. Endpoints receive events signed the
 * Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or formatted as
 * Slack messages (`kind: "slack"`). Every URL passes the SSRF guard (workers/webhooks/url-guard.ts)
 * here and again before each delivery. Secrets are shown in full only by create and rotate-secret.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { EVENT_TYPES } from "../../shared/db/schema";
import { checkWebhookUrl, loopbackAllowed, MAX_URL_LENGTH } from "./url-guard";
import { type LogEntry, maskSecret, newSecret, redeliver } from "./delivery";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";

const EventName = z.enum([...EVENT_TYPES, "*"]).describe('An event type, or "*" for all of them');
const Kind = z.enum(["standard", "slack"]).describe("standard: Standard Webhooks JSON `{type, timestamp, data}`; slack: a Slack incoming-webhook message `{text, blocks}`");
const WebhookIdParam = z.string().regex(/^wh_[0-9a-f]{24}$/, "is not a webhook id");
const DeliveryIdParam = z.string().regex(/^dlv_[0-9a-f]{24}$/, "is not a delivery id");

export const Webhook = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  kind: Kind,
  events: z.array(z.string()),
  status: z.enum(["enabled", "disabled"]),
  disabledReason: z.string().nullable().describe("Why the endpoint was disabled: 410 Gone, repeated dead deliveries, a refused URL or PATCH"),
  consecutiveFailures: z.number().int().describe("Deliveries in a row that ended dead; 3 disable the endpoint; any success resets it"),
  secret: z.string().describe("The signing secret (whsec_ + base64), in full only in the answers to create and rotate-secret; masked elsewhere"),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const AttemptEntry = z.object({
  at: z.string(),
  attempt: z.number().int().optional().describe("Attempt number; absent on notes"),
  status: z.number().int().nullable().describe("HTTP status, or null for a network error, a timeout or a note"),
  ms: z.number(),
  error: z.string().optional(),
  note: z.string().optional().describe('"redelivery requested", "dead-lettered", "endpoint disabled", "url refused"'),
});

export const Delivery = z.object({
  id: z.string(),
  eventId: z.string().describe("The event id, sent as webhook-id on every attempt and redelivery"),
  eventType: z.string(),
  status: z.enum(["pending", "retrying", "succeeded", "failed", "dead"]),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  attemptLog: z.array(AttemptEntry),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
});

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  kind: string;
  event_types: string;
  secret: string;
  status: string;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: string;
  updated_at: string;
}

function toWebhook(r: EndpointRow, showSecret = false): z.infer<typeof Webhook> {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    kind: r.kind as "standard" | "slack",
    events: JSON.parse(r.event_types) as string[],
    status: r.status as "enabled" | "disabled",
    disabledReason: r.disabled_reason,
    consecutiveFailures: r.consecutive_failures,
    secret: showSecret ? r.secret : maskSecret(r.secret),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Refuses a URL the SSRF guard does not allow, naming the field. */
function guardUrl(env: Env, url: string): void {
  const verdict = checkWebhookUrl(url, { allowLoopback: loopbackAllowed(env) });
  if (!verdict.ok) throw invalid(`The webhook URL is not allowed: it ${verdict.reason}.`, [{ field: "url", detail: verdict.reason }]);
}

function uniqueEvents(events: string[]): string[] {
  return events.includes("*") ? ["*"] : [...new Set(events)];
}

async function loadEndpoint(env: Env, id: string): Promise<EndpointRow> {
  const row = await env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?1").bind(id).first<EndpointRow>();
  if (!row) throw new Problem(404, "webhook-not-found", `No webhook endpoint '${id}'.`, [{ field: "id", detail: "no such webhook endpoint" }]);
  return row;
}

const WebhookBody = z.object({
  url: z.string().min(1).max(MAX_URL_LENGTH).describe("https URL of the receiver (http://127.0.0.1:PORT or http://localhost:PORT too when WEBHOOK_ALLOW_LOOPBACK is on)"),
  events: z.array(EventName).min(1).max(20).describe("Event types to receive"),
  description: z.string().max(500).nullable().optional(),
  kind: Kind.optional().describe("Default standard"),
});

export const CreatedWebhook = Webhook.extend({ secret: z.string().describe("The signing secret in full: store it now, it is shown again only on rotation") });

export class CreateWebhook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Register a webhook endpoint",
    description:
      "Events: `account.risk_tier_changed`, `account.expansion_ready`, `rescore.completed`, `model.performance_degraded`, `model.drift_detected`, or `*`. Deliveries follow Standard Webhooks: `webhook-id` (the event id), `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` with the secret returned here (shown in full only now and on rotation). The URL must be public https: private, loopback, link-local and metadata addresses, non-standard IPv4 forms and credentials are refused.",
    security: bearer,
    request: { body: contentJson(WebhookBody) },
    responses: { "201": { description: "Created; the answer carries the full secret", ...contentJson(CreatedWebhook) }, ...problems(400, 401, 403, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    guardUrl(c.env, body.url);
    const id = `wh_${hex(12)}`;
    const stamp = new Date().toISOString();
    const row = await c.env.DB.prepare(
      `INSERT INTO webhook_endpoints (id, url, description, kind, event_types, secret, status, consecutive_failures, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'enabled', 0, ?7, ?7) RETURNING *`,
    )
      .bind(id, body.url, body.description ?? null, body.kind ?? "standard", JSON.stringify(uniqueEvents(body.events)), newSecret(), stamp)
      .first<EndpointRow>();
    return c.json(toWebhook(row!, true), 201);
  }
}

export const WebhookList = z.object({ webhooks: z.array(Webhook).describe("Oldest first; secrets masked") });

export class ListWebhooks extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Webhook endpoints, secrets masked",
    security: bearer,
    responses: { "200": { description: "Every endpoint", ...contentJson(WebhookList) }, ...problems(401, 403, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { results } = await c.env.DB.prepare("SELECT * FROM webhook_endpoints ORDER BY created_at, id").all<EndpointRow>();
    return { webhooks: results.map((r) => toWebhook(r)) };
  }
}

export class GetWebhook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "One webhook endpoint, secret masked",
    security: bearer,
    request: { params: z.object({ id: WebhookIdParam }) },
    responses: { "200": { description: "The endpoint", ...contentJson(Webhook) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    return toWebhook(await loadEndpoint(c.env, params.id));
  }
}

const WebhookPatch = z.object({
  url: z.string().min(1).max(MAX_URL_LENGTH).optional(),
  events: z.array(EventName).min(1).max(20).optional(),
  description: z.string().max(500).nullable().optional(),
  kind: Kind.optional(),
  status: z.enum(["enabled", "disabled"]).optional().describe("Re-enabling clears disabledReason and consecutiveFailures"),
});

export class PatchWebhook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Change a webhook endpoint (url, events, description, kind, status)",
    description:
      "Only the fields sent change. `status: \"disabled\"` stops deliveries (pending ones fail with \"endpoint disabled\"); `status: \"enabled\"` re-enables an endpoint and resets its failure count, after checking its URL again.",
    security: bearer,
    request: { params: z.object({ id: WebhookIdParam }), body: contentJson(WebhookPatch) },
    responses: { "200": { description: "The endpoint as changed", ...contentJson(Webhook) }, ...problems(400, 401, 403, 404, 415, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, body } = await this.getValidatedData<typeof this.schema>();
    if (Object.values(body).every((v) => v === undefined)) {
      throw invalid("Send at least one of url, events, description, kind or status.", [{ field: "body", detail: "no field to change" }]);
    }
    const current = await loadEndpoint(c.env, params.id);
    const url = body.url ?? current.url;
    // A new URL is always checked; re-enabling checks the stored one too (the rules may have changed).
    if (body.url !== undefined || (body.status === "enabled" && current.status !== "enabled")) guardUrl(c.env, url);
    const enabling = body.status === "enabled" && current.status !== "enabled";
    const disabling = body.status === "disabled" && current.status !== "disabled";
    const row = await c.env.DB.prepare(
      `UPDATE webhook_endpoints SET url = ?2, description = ?3, kind = ?4, event_types = ?5, status = ?6,
         disabled_reason = CASE WHEN ?7 THEN NULL WHEN ?8 THEN 'disabled with PATCH' ELSE disabled_reason END,
         consecutive_failures = CASE WHEN ?7 THEN 0 ELSE consecutive_failures END, updated_at = ?9
       WHERE id = ?1 RETURNING *`,
    )
      .bind(
        params.id,
        url,
        body.description === undefined ? current.description : body.description,
        body.kind ?? current.kind,
        body.events ? JSON.stringify(uniqueEvents(body.events)) : current.event_types,
        body.status ?? current.status,
        enabling ? 1 : 0,
        disabling ? 1 : 0,
        new Date().toISOString(),
      )
      .first<EndpointRow>();
    if (!row) throw new Problem(404, "webhook-not-found", `No webhook endpoint '${params.id}'.`, [{ field: "id", detail: "no such webhook endpoint" }]);
    return toWebhook(row);
  }
}

export class DeleteWebhook extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Delete a webhook endpoint and its delivery log",
    security: bearer,
    request: { params: z.object({ id: WebhookIdParam }) },
    responses: { "204": { description: "Deleted" }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const [, gone] = await c.env.DB.batch([
      c.env.DB.prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?1").bind(params.id),
      c.env.DB.prepare("DELETE FROM webhook_endpoints WHERE id = ?1 RETURNING id").bind(params.id),
    ]);
    if (!gone.results.length) throw new Problem(404, "webhook-not-found", `No webhook endpoint '${params.id}'.`, [{ field: "id", detail: "no such webhook endpoint" }]);
    return new Response(null, { status: 204 });
  }
}

export const RotatedSecret = z.object({
  id: z.string(),
  secret: z.string().describe("The new signing secret, in full; deliveries from now on are signed with it alone"),
});

export class RotateWebhookSecret extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Replace an endpoint's signing secret",
    description:
      "Returns the new secret in full. Every delivery attempt from now on, retries of older events included, is signed with the new secret only; a receiver that still checks the old one fails them and they are retried on the usual schedule.",
    security: bearer,
    request: { params: z.object({ id: WebhookIdParam }) },
    responses: { "200": { description: "The new secret", ...contentJson(RotatedSecret) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const secret = newSecret();
    const row = await c.env.DB.prepare("UPDATE webhook_endpoints SET secret = ?2, updated_at = ?3 WHERE id = ?1 RETURNING id").bind(params.id, secret, new Date().toISOString()).first();
    if (!row) throw new Problem(404, "webhook-not-found", `No webhook endpoint '${params.id}'.`, [{ field: "id", detail: "no such webhook endpoint" }]);
    return { id: params.id, secret };
  }
}

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  attempt_log: string;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
}

function toDelivery(r: DeliveryRow): z.infer<typeof Delivery> {
  return {
    id: r.id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status as z.infer<typeof Delivery>["status"],
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    attemptLog: JSON.parse(r.attempt_log) as LogEntry[],
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
    nextAttemptAt: r.next_attempt_at,
  };
}

function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(text: string): [string, string] {
  try {
    const v = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/"))) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string") return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw invalid("The cursor is not one this API issued.", [{ field: "cursor", detail: "not a valid cursor; pass nextCursor back unchanged" }]);
}

export const DeliveryLog = z.object({
  deliveries: z.array(Delivery).describe("Newest first"),
  nextCursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
});

export class ListDeliveries extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "An endpoint's delivery log, newest first",
    description:
      "Each delivery is one event to this endpoint, with every attempt (time, HTTP status, milliseconds, error) and notes (redelivery requested, dead-lettered, endpoint disabled). Filter by `status`; pages follow `nextCursor`.",
    security: bearer,
    request: {
      params: z.object({ id: WebhookIdParam }),
      query: z.object({
        status: z.enum(["pending", "retrying", "succeeded", "failed", "dead"]).optional(),
        eventType: z.enum(EVENT_TYPES).optional(),
        limit: z.coerce.number().int().min(1).max(200).optional().describe("Page size, default 50, at most 200"),
        cursor: z.string().max(500).optional(),
      }),
    },
    responses: { "200": { description: "One page of the log", ...contentJson(DeliveryLog) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params, query } = await this.getValidatedData<typeof this.schema>();
    await loadEndpoint(c.env, params.id);
    const limit = query.limit ?? 50;
    const where = ["endpoint_id = ?1"];
    const binds: (string | number)[] = [params.id];
    const bind = (v: string | number) => {
      binds.push(v);
      return `?${binds.length}`;
    };
    if (query.status) where.push(`status = ${bind(query.status)}`);
    if (query.eventType) where.push(`event_type = ${bind(query.eventType)}`);
    if (query.cursor) {
      const [createdAt, id] = decodeCursor(query.cursor);
      const at = bind(createdAt);
      where.push(`(created_at < ${at} OR (created_at = ${at} AND id < ${bind(id)}))`);
    }
    const { results } = await c.env.DB.prepare(
      `SELECT id, event_id, event_type, status, attempts, last_status_code, last_error, attempt_log, created_at, delivered_at, next_attempt_at
       FROM webhook_deliveries WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT ${bind(limit + 1)}`,
    )
      .bind(...binds)
      .all<DeliveryRow>();
    const page = results.slice(0, limit);
    const last = page[page.length - 1];
    return { deliveries: page.map(toDelivery), nextCursor: results.length > limit && last ? encodeCursor(last.created_at, last.id) : null };
  }
}

export class RedeliverDelivery extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Webhooks"],
    summary: "Send a delivery again, with the same event id",
    description:
      "For a delivery that succeeded, failed or is dead: resets it to pending with a fresh retry schedule and queues it. The receiver gets the same `webhook-id` (the event id), so it can tell a redelivery from a new event. A delivery still pending or retrying is refused (409), as is one whose endpoint is disabled.",
    security: bearer,
    request: { params: z.object({ id: WebhookIdParam, deliveryId: DeliveryIdParam }) },
    responses: { "202": { description: "Queued", ...contentJson(Delivery) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const endpoint = await loadEndpoint(c.env, params.id);
    const select = "SELECT id, event_id, event_type, status, attempts, last_status_code, last_error, attempt_log, created_at, delivered_at, next_attempt_at FROM webhook_deliveries WHERE id = ?1 AND endpoint_id = ?2";
    const before = await c.env.DB.prepare(select).bind(params.deliveryId, params.id).first<DeliveryRow>();
    if (!before) throw new Problem(404, "delivery-not-found", `No delivery '${params.deliveryId}' for webhook '${params.id}'.`, [{ field: "deliveryId", detail: "no such delivery for this endpoint" }]);
    if (endpoint.status !== "enabled") {
      throw new Problem(409, "webhook-disabled", `Webhook '${params.id}' is disabled; re-enable it with PATCH {"status": "enabled"} first.`, [{ field: "id", detail: "endpoint disabled" }]);
    }
    if (!(await redeliver(c.env, params.id, params.deliveryId))) {
      throw new Problem(409, "delivery-in-flight", `Delivery '${params.deliveryId}' is ${before.status}; it is attempted on its own schedule (next at ${before.next_attempt_at ?? "once queued"}).`, [
        { field: "deliveryId", detail: `still ${before.status}` },
      ]);
    }
    const after = await c.env.DB.prepare(select).bind(params.deliveryId, params.id).first<DeliveryRow>();
    return c.json(toDelivery(after!), 202);
  }
}
