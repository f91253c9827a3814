/**
 * The HTTP API: Hono with chanfana, OpenAPI 3.1 at `/openapi.json`, docs at `/docs`.
 * Every route under /v1 needs a bearer key with the route's scope; every error is problem+json.
 */
import { fromHono } from "chanfana";
import { Hono } from "hono";
import { accountsRoutes } from "../accounts/routes";
import { adoptionRoutes } from "../adoption/routes";
import { exportsRoutes } from "../exports/routes";
import { feedbackRoutes } from "../feedback/routes";
import { forecastRoutes } from "../forecast/routes";
import { impactRoutes } from "../impact/routes";
import { insightsRoutes } from "../insights/routes";
import { interventionsRoutes } from "../interventions/routes";
import { modelsRoutes } from "../models/routes";
import { monitoringRoutes } from "../monitoring/routes";
import { opportunitiesRoutes } from "../opportunities/routes";
import { playbooksRoutes } from "../playbooks/routes";
import { rescoringRoutes } from "../rescoring/routes";
import { roiRoutes } from "../roi/routes";
import { scoringRoutes } from "../scoring/routes";
import { trajectoriesRoutes } from "../trajectories/routes";
import { webhooksRoutes } from "../webhooks/routes";
import { worklistRoutes } from "../worklist/routes";
import { type AppEnv, requireScope } from "./auth";
import { jsonBody } from "./body";
import { Health } from "./health";
import { Problem, problemResponse, toProblem } from "./problem";
import type { RouteTable } from "./routes";

/** Every concept's routes, in the order the OpenAPI document lists them. */
const ROUTES: RouteTable[] = [scoringRoutes, accountsRoutes, trajectoriesRoutes, modelsRoutes, monitoringRoutes, rescoringRoutes, webhooksRoutes, playbooksRoutes, worklistRoutes, interventionsRoutes, feedbackRoutes, adoptionRoutes, impactRoutes, insightsRoutes, opportunitiesRoutes, exportsRoutes, forecastRoutes, roiRoutes];

export function createApp() {
  const app = new Hono<AppEnv>();
  app.onError(toProblem);
  app.notFound((c) => problemResponse(new Problem(404, "not-found", `No route ${c.req.method} ${new URL(c.req.url).pathname}.`), new URL(c.req.url).pathname));
  app.use("/v1/*", jsonBody());
  for (const [, path, , , before] of ROUTES.flat()) if (before) app.use(path, before);
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
  // The scope check runs before each route's handler.
  for (const [method, path, endpoint, scopes] of ROUTES.flat()) {
    app.on(method.toUpperCase(), path, requireScope(...scopes));
    openapi[method](path, endpoint);
  }
  return app;
}
