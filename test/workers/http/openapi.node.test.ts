import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../workers/http/app";

describe("OpenAPI document", () => {
  it("is valid OpenAPI 3.1 by the official JSON schema", async () => {
    const res = await createApp().request("/openapi.json");
    const doc = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });
});
