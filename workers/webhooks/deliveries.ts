/**
 * An endpoint's delivery log (`GET /v1/webhooks/{id}/deliveries`), newest first with keyset
 * cursors, and redelivery of a settled delivery with the same event id.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import { createSelectSchema } from "drizzle-zod";
import type { Context } from "hono";
import { z } from "zod";
import type { SqlPick } from "../../shared/db/rows";
import { AttemptLogEntry, DELIVERY_STATUSES, EVENT_TYPES, webhookDeliveries } from "../../shared/db/schema";
import type { AppEnv } from "../http/auth";
import { decodeCursor, encodeCursor } from "../http/cursor";
import { Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { redeliver } from "./delivery";
import { loadEndpoint, WebhookIdParam } from "./endpoints";

const DeliveryIdParam = z.string().regex(/^dlv_[0-9a-f]{24}$/, "is not a delivery id");

export const Delivery = createSelectSchema(webhookDeliveries)
  .pick({ id: true, eventType: true, status: true, lastError: true, createdAt: true, deliveredAt: true, nextAttemptAt: true })
  .extend({
    eventId: z.string().describe("The event id, sent as webhook-id on every attempt and redelivery"),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    attemptLog: z.array(AttemptLogEntry),
  });

type DeliveryRow = SqlPick<
  typeof webhookDeliveries,
  "id" | "event_id" | "event_type" | "status" | "attempts" | "last_status_code" | "last_error" | "attempt_log" | "created_at" | "delivered_at" | "next_attempt_at"
>;

function toDelivery(r: DeliveryRow): z.infer<typeof Delivery> {
  return {
    id: r.id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    attemptLog: JSON.parse(r.attempt_log) as AttemptLogEntry[],
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
    nextAttemptAt: r.next_attempt_at,
  };
}

/** The log's cursor: the last delivery's creation time and id. */
const isPosition = (v: unknown): [string, string] | null => (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string" ? [v[0], v[1]] : null);

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
        status: z.enum(DELIVERY_STATUSES).optional(),
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
      const [createdAt, id] = decodeCursor(query.cursor, isPosition);
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
    return { deliveries: page.map(toDelivery), nextCursor: results.length > limit && last ? encodeCursor([last.created_at, last.id]) : null };
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
