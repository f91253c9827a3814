/** Webhooks' routes: endpoints (subscriptions), their secrets, and the delivery log. */
import type { RouteTable } from "../http/routes";
import { CreateWebhook, DeleteWebhook, GetWebhook, ListWebhooks, PatchWebhook, RotateWebhookSecret } from "./endpoints";
import { ListDeliveries, RedeliverDelivery } from "./deliveries";

export const webhooksRoutes: RouteTable = [
  ["post", "/v1/webhooks", CreateWebhook, ["admin"]],
  ["get", "/v1/webhooks", ListWebhooks, ["admin"]],
  ["get", "/v1/webhooks/:id/deliveries", ListDeliveries, ["admin"]],
  ["post", "/v1/webhooks/:id/deliveries/:deliveryId/redeliver", RedeliverDelivery, ["admin"]],
  ["post", "/v1/webhooks/:id/rotate-secret", RotateWebhookSecret, ["admin"]],
  ["get", "/v1/webhooks/:id", GetWebhook, ["admin"]],
  ["patch", "/v1/webhooks/:id", PatchWebhook, ["admin"]],
  ["delete", "/v1/webhooks/:id", DeleteWebhook, ["admin"]],
];
