import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createKey, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

let key: string;

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["score", "ingest"]);
});

async function accountCount(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM accounts").first<{ n: number }>())!.n;
}

describe("bad input gets a 4xx problem+json naming the field, and writes nothing", () => {
  it("malformed JSON → 400", async () => {
    const res = await call("POST", "/v1/score", { key, raw: '{"features": {"tenure": 2,' });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors?.[0].field).toBe("body");
  });

  it("wrong types → 422 naming the field", async () => {
    const res = await call("POST", "/v1/score", { key, body: { features: [1, 2, 3] } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain("features");
  });

  it("an object where a signal belongs → 422 naming the signal", async () => {
    const res = await call("POST", "/v1/score", { key, body: { features: { ...riskyCustomer, tenure: { months: 2 } } } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain("features.tenure");
  });

  it("unknown feature names → 422 naming each", async () => {
    const res = await call("POST", "/v1/score", { key, body: { features: { ...riskyCustomer, tenur: 3, Foo: "x" } } });
    expect(res.status).toBe(422);
    const fields = (await problemOf(res)).errors?.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["features.tenur", "features.Foo"]));
  });

  it("a string where a number belongs → 422", async () => {
    const res = await call("POST", "/v1/score", { key, body: { features: { ...riskyCustomer, tenure: "two" } } });
    expect(res.status).toBe(422);
    const p = await problemOf(res);
    expect(p.errors).toEqual([{ field: "features.tenure", detail: expect.stringContaining("must be a number") }]);
  });

  it("NaN and Infinity → 4xx", async () => {
    const inf = await call("POST", "/v1/score", { key, raw: `{"features": {"tenure": 1e999}}` });
    expect(inf.status).toBe(422);
    expect((await problemOf(inf)).errors?.[0].field).toBe("features.tenure");
    const nan = await call("POST", "/v1/score", { key, raw: `{"features": {"tenure": NaN}}` });
    expect(nan.status).toBe(400);
    await problemOf(nan);
    const nanString = await call("POST", "/v1/score", { key, body: { features: { tenure: "NaN" } } });
    expect(nanString.status).toBe(422);
    expect((await problemOf(nanString)).errors?.[0].field).toBe("features.tenure");
  });

  it("oversized bodies → 413", async () => {
    const big = JSON.stringify({ features: { gender: "x".repeat(1_100_000) } });
    const res = await call("POST", "/v1/score", { key, raw: big });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).errors?.[0].field).toBe("body");
  });

  it("a missing key → 401; a wrong key → 401; a missing scope → 403", async () => {
    const none = await call("POST", "/v1/score", { body: { features: riskyCustomer } });
    expect(none.status).toBe(401);
    expect((await problemOf(none)).errors?.[0].field).toBe("authorization");
    const wrong = await call("POST", "/v1/score", { key: "fs_nope_nope", body: { features: riskyCustomer } });
    expect(wrong.status).toBe(401);
    await problemOf(wrong);
    const scoreOnly = await createKey(["score"]);
    const forbidden = await call("PUT", "/v1/accounts/A1", { key: scoreOnly, body: { features: riskyCustomer } });
    expect(forbidden.status).toBe(403);
    await problemOf(forbidden);
    expect(await accountCount()).toBe(0);
  });

  it("neither or both of features and accountId → 422", async () => {
    const neither = await call("POST", "/v1/score", { key, body: {} });
    expect(neither.status).toBe(422);
    await problemOf(neither);
    const both = await call("POST", "/v1/score", { key, body: { features: riskyCustomer, accountId: "A" } });
    expect(both.status).toBe(422);
  });

  it("a non-JSON media type → 415; an unknown route → 404 problem", async () => {
    const res = await call("POST", "/v1/score", { key, raw: "tenure=2", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(415);
    await problemOf(res);
    const missing = await call("GET", "/v1/nothing-here", { key });
    expect(missing.status).toBe(404);
    await problemOf(missing);
  });

  it("bad ingest writes nothing", async () => {
    const res = await call("PUT", "/v1/accounts/BAD-1", { key, body: { arr: "lots", features: { ...riskyCustomer, tenure: "2" } } });
    expect(res.status).toBe(422);
    const fields = (await problemOf(res)).errors?.map((e) => e.field);
    expect(fields).toContain("arr");
    expect(await accountCount()).toBe(0);
  });
});

describe("rate limits per key", () => {
  it("a key limited to 3/s gets 429 problem+json with Retry-After on the 4th request in a burst; other keys are unaffected", async () => {
    const limited = await createKey(["score"], 3);
    const other = await createKey(["score"], 3);
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await call("POST", "/v1/score", { key: limited, body: { features: riskyCustomer } });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const p = await problemOf(last!);
    expect(p.status).toBe(429);
    expect(p.detail).toMatch(/3 requests per second/);
    expect((await call("POST", "/v1/score", { key: other, body: { features: riskyCustomer } })).status).toBe(200);
  });

  it("a key with limit 0 is unlimited", async () => {
    const unlimited = await createKey(["score"], 0);
    const statuses = await Promise.all(Array.from({ length: 60 }, () => call("POST", "/v1/score", { key: unlimited, body: { features: riskyCustomer } }).then((r) => r.status)));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
