/**
 * Webhook endpoints (`/v1/webhooks`): the subscriptions and their secrets. Endpoints receive events signed the
 * Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`), or formatted as
 * Slack messages (`kind: "slack"`). Every URL passes the SSRF guard (workers/webhooks/url-guard.ts)
 * here and again before each delivery. Secrets are shown in full only by create and rotate-secret.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { createSelectSchema } from "drizzle-zod";
import type { SqlRow } from "../../shared/db/rows";
import { ENDPOINT_STATUSES, EVENT_TYPES, WEBHOOK_KINDS, webhookEndpoints } from "../../shared/db/schema";
import { maskSecret, newSecret } from "./signing";
import { checkWebhookUrl, loopbackAllowed, MAX_URL_LENGTH } from "./url-guard";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";

const EventName = z.enum([...EVENT_TYPES, "*"]).describe('An event type, or "*" for all of them');
const Kind = z.enum(WEBHOOK_KINDS).describe("standard: Standard Webhooks JSON `{type, timestamp, data}`; slack: a Slack incoming-webhook message `{text, blocks}`");
export const WebhookIdParam = z.string().regex(/^wh_[0-9a-f]{24}$/, "is not a webhook id");

const endpointRow = createSelectSchema(webhookEndpoints);

export const Webhook = endpointRow
  .pick({ id: true, url: true, description: true, status: true, createdAt: true, updatedAt: true })
  .extend({
    kind: Kind,
    events: z.array(z.string()),
    disabledReason: endpointRow.shape.disabledReason.describe("Why the endpoint was disabled: 410 Gone, repeated dead deliveries, a refused URL or PATCH"),
    consecutiveFailures: z.number().int().describe("Deliveries in a row that ended dead; 3 disable the endpoint; any success resets it"),
    secret: endpointRow.shape.secret.describe("The signing secret (whsec_ + base64), in full only in the answers to create and rotate-secret; masked elsewhere"),
  });

type EndpointRow = SqlRow<typeof webhookEndpoints>;

function toWebhook(r: EndpointRow, showSecret = false): z.infer<typeof Webhook> {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    kind: r.kind,
    events: JSON.parse(r.event_types) as string[],
    status: r.status,
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

/** The endpoint, or a 404 naming `id`. */
export async function loadEndpoint(env: Env, id: string): Promise<EndpointRow> {
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
  status: z.enum(ENDPOINT_STATUSES).optional().describe("Re-enabling clears disabledReason and consecutiveFailures"),
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
