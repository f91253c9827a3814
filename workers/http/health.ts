/** Liveness: answers without touching D1 or R2, so it measures the Worker alone. */
import { OpenAPIRoute } from "chanfana";
import { z } from "zod";

export class Health extends OpenAPIRoute {
  override schema = {
    tags: ["Operations"],
    summary: "Liveness check",
    responses: { "200": { description: "The Worker is up", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
  };

  override async handle() {
    return { status: "ok" as const };
  }
}
