/**
 * The HTTP API: Hono with chanfana, OpenAPI 3.1 at `/openapi.json`, docs at `/docs`.
 * Every route under /v1 needs a bearer key with the route's scope; every error is problem+json.
 */
import { fromHono } from "chanfana";
import { Hono } from "hono";
import { type AppEnv, requireScope } from "./auth";
import { jsonBody } from "./body";
import { Problem, problemResponse, toProblem } from "./problem";
import { BatchAccounts, GetAccount, PatchAccount, PutAccount } from "./routes/accounts";
import { Health } from "./routes/health";
import { RecordOutcomes } from "./routes/outcomes";
import { ScoreRoute } from "./routes/score";

export function createApp() {
  const app = new Hono<AppEnv>();
  app.onError(toProblem);
  app.notFound((c) => problemResponse(new Problem(404, "not-found", `No route ${c.req.method} ${new URL(c.req.url).pathname}.`), new URL(c.req.url).pathname));
  app.use("/v1/*", jsonBody());

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
  openapi.post("/v1/score", requireScope("score"), ScoreRoute);
  openapi.post("/v1/accounts/batch", requireScope("ingest"), BatchAccounts);
  openapi.put("/v1/accounts/:id", requireScope("ingest"), PutAccount);
  openapi.patch("/v1/accounts/:id", requireScope("ingest"), PatchAccount);
  openapi.get("/v1/accounts/:id", requireScope("score", "ingest"), GetAccount);
  openapi.post("/v1/outcomes", requireScope("ingest"), RecordOutcomes);
  return app;
}
