/**
 * The TypeScript client's generated files are in sync: `client/schema.d.ts` is exactly what
 * openapi-typescript makes of the committed `client/openapi.json`, and that document is byte for
 * byte what `npm run client:generate` writes for the current app. (test/workers/http/client.test.ts checks
 * it against the live Worker in workerd.) Also: the client's error handling, with a stub fetch.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCUMENT_FILE, fetchDocument, formatDocument, renderSchema, SCHEMA_FILE } from "../../client/generate";
import { ForesightClient, ForesightError, parseRetryAfter } from "../../client/index";

const STALE = "is out of date: run `npm run client:generate` and commit client/";

describe("generated client files", () => {
  it("client/schema.d.ts is openapi-typescript's output for client/openapi.json, byte for byte", async () => {
    const committedDoc = JSON.parse(readFileSync(DOCUMENT_FILE, "utf8"));
    const generated = await renderSchema(committedDoc, { silent: true });
    expect(readFileSync(SCHEMA_FILE, "utf8"), `client/schema.d.ts ${STALE}`).toBe(generated);
  });

  it("client/openapi.json is byte for byte what the generator writes for the current app", async () => {
    const current = formatDocument(await fetchDocument());
    expect(readFileSync(DOCUMENT_FILE, "utf8"), `client/openapi.json ${STALE}`).toBe(current);
  });
});

const problemResponse = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": typeof body === "string" ? "text/html" : "application/problem+json", ...headers },
  });

describe("ForesightClient errors (stub fetch)", () => {
  it("sends the key as a bearer token to baseUrl and returns the body", async () => {
    const seen: Request[] = [];
    const client = new ForesightClient({
      baseUrl: "https://api.example/foresight/",
      apiKey: "fsk_test",
      fetch: async (req) => {
        seen.push(req);
        return Response.json({ models: [] });
      },
    });
    expect(await client.models({ target: "churn" })).toEqual({ models: [] });
    expect(seen[0].url).toBe("https://api.example/foresight/v1/models?target=churn");
    expect(seen[0].headers.get("authorization")).toBe("Bearer fsk_test");
  });

  it("turns a 429 problem into a ForesightError with retryAfter in seconds", async () => {
    const problem = { type: "/problems/rate-limited", title: "Too Many Requests", status: 429, detail: "retry after 2 s.", errors: [{ field: "authorization", detail: "rate limit 1/s" }] };
    const client = new ForesightClient({ baseUrl: "https://api.example", apiKey: "k", fetch: async () => problemResponse(429, problem, { "retry-after": "2" }) });
    const err = await client.portfolio().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForesightError);
    expect(err).toMatchObject({ status: 429, type: "/problems/rate-limited", title: "Too Many Requests", retryAfter: 2, errors: problem.errors, problem });
  });

  it("makes a problem from a non-problem error body (e.g. a proxy's HTML page)", async () => {
    const client = new ForesightClient({ baseUrl: "https://api.example", apiKey: "k", fetch: async () => problemResponse(502, "<html>Bad gateway</html>") });
    const err = (await client.account("A-1").catch((e: unknown) => e)) as ForesightError;
    expect(err).toBeInstanceOf(ForesightError);
    expect(err).toMatchObject({ status: 502, type: "about:blank", detail: "<html>Bad gateway</html>", errors: [], retryAfter: undefined });
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-11-22T14:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7);
    expect(parseRetryAfter("Sun, 22 Nov 2026 14:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
