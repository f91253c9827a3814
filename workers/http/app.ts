/**
 * The HTTP API: Hono with chanfana, OpenAPI 3.1 at `/openapi.json`, docs at `/docs`.
 * Every route under /v1 needs a bearer key with the route's scope; every error is problem+json.
 */
import { fromHono, type OpenAPIRoute } from "chanfana";
import { type Context, Hono } from "hono";
import type { ApiScope } from "../../shared/db/schema";
import { type AppEnv, requireScope } from "./auth";
import { jsonBody } from "./body";
import { Problem, problemResponse, toProblem } from "./problem";
import { BatchAccounts, GetAccount, PatchAccount, PutAccount } from "../accounts/accounts";
import { Health } from "./health";
import { RecordOutcomes } from "../accounts/outcomes";
import { AccountExpansion, bannerCors } from "../scoring/expansion";
import { ActivateModel, ListModels } from "../models/models";
import { ComputePerformance, GetPerformance } from "../monitoring/performance";
import { ModelComparison, SetShadow, StopShadow } from "../models/shadow";
import { PortfolioRoute } from "../accounts/portfolio";
import { GetRescore, StartRescore } from "../rescoring/runs";
import { ScoreBatchRoute, ScoreRoute } from "../scoring/score";
import { AccountScores, ListAccounts } from "../accounts/list-accounts";
import { CreateWebhook, DeleteWebhook, GetWebhook, ListDeliveries, ListWebhooks, PatchWebhook, RedeliverDelivery, RotateWebhookSecret } from "../webhooks/endpoints";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.onError(toProblem);
  app.notFound((c) => problemResponse(new Problem(404, "not-found", `No route ${c.req.method} ${new URL(c.req.url).pathname}.`), new URL(c.req.url).pathname));
  app.use("/v1/*", jsonBody());
  // Browsers call the banner route cross-origin; its preflight is answered before any key check.
  app.use("/v1/accounts/:id/expansion", bannerCors());

  const openapi = fromHono(app, {
    openapiVersion: "3.1",
    openapi_url: "/openapi.json",
    docs_url: "/docs",
    redoc_url: null,
    passthroughErrors: true,
    schema: {
      info: {
        title: "Foresight API",
        version: "1.0.0",
        description:
          "Churn-risk and expansion-readiness scoring for customer success, at the edge. Authenticate with `Authorization: Bearer <key>` (create one with `npm run create-key`). Errors are RFC 9457 problem+json with `errors[]` naming each field at fault.",
      },
    },
  });
  openapi.registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "A Foresight API key" });

  openapi.get("/healthz", Health);
  // Each /v1 route with the scopes it needs; the scope check runs before the route's handler.
  const routes: [method: "get" | "post" | "put" | "patch" | "delete", path: string, route: typeof OpenAPIRoute<[Context<AppEnv>]>, scopes: ApiScope[]][] = [
    ["post", "/v1/score", ScoreRoute, ["score"]],
    ["post", "/v1/score/batch", ScoreBatchRoute, ["score"]],
    ["get", "/v1/portfolio", PortfolioRoute, ["score", "ingest"]],
    ["get", "/v1/accounts", ListAccounts, ["score", "ingest"]],
    ["post", "/v1/accounts/batch", BatchAccounts, ["ingest"]],
    ["get", "/v1/accounts/:id/scores", AccountScores, ["score", "ingest"]],
    ["get", "/v1/accounts/:id/expansion", AccountExpansion, ["banner", "score"]],
    ["put", "/v1/accounts/:id", PutAccount, ["ingest"]],
    ["patch", "/v1/accounts/:id", PatchAccount, ["ingest"]],
    ["get", "/v1/accounts/:id", GetAccount, ["score", "ingest"]],
    ["post", "/v1/outcomes", RecordOutcomes, ["ingest"]],
    ["get", "/v1/models", ListModels, ["score", "ingest"]],
    ["post", "/v1/models/:version/activate", ActivateModel, ["admin"]],
    ["get", "/v1/models/:version/performance", GetPerformance, ["score", "ingest"]],
    ["post", "/v1/models/:version/performance/compute", ComputePerformance, ["admin"]],
    ["post", "/v1/models/:version/shadow", SetShadow, ["admin"]],
    ["delete", "/v1/models/:version/shadow", StopShadow, ["admin"]],
    ["get", "/v1/models/:version/comparison", ModelComparison, ["score", "ingest"]],
    ["post", "/v1/rescore", StartRescore, ["admin"]],
    ["get", "/v1/rescore/:runId", GetRescore, ["admin", "score"]],
    ["post", "/v1/webhooks", CreateWebhook, ["admin"]],
    ["get", "/v1/webhooks", ListWebhooks, ["admin"]],
    ["get", "/v1/webhooks/:id/deliveries", ListDeliveries, ["admin"]],
    ["post", "/v1/webhooks/:id/deliveries/:deliveryId/redeliver", RedeliverDelivery, ["admin"]],
    ["post", "/v1/webhooks/:id/rotate-secret", RotateWebhookSecret, ["admin"]],
    ["get", "/v1/webhooks/:id", GetWebhook, ["admin"]],
    ["patch", "/v1/webhooks/:id", PatchWebhook, ["admin"]],
    ["delete", "/v1/webhooks/:id", DeleteWebhook, ["admin"]],
  ];
  for (const [method, path, route, scopes] of routes) {
    app.on(method.toUpperCase(), path, requireScope(...scopes));
    openapi[method](path, route);
  }
  return app;
}
