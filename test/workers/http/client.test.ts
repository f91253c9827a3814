/**
 * The TypeScript client (client/) against the real Worker in workerd, with real local D1 and R2:
 * the committed OpenAPI document is the one the Worker serves, and ForesightClient's methods work
 * end to end through `exports.default.fetch`.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import committedDocument from "../../../client/openapi.json";
import { type Account, ForesightClient, ForesightError, isRowError, type paths, type ResponseBody, type ScoreResult, type WorklistAccount } from "../../../client/index";
import { apiKeys } from "../../../shared/db/schema";
import { db } from "../../../shared/db/write";
import { generateKey } from "../../../shared/keys";
import { call, createKey, loyalCustomer, publishTelcoModel, riskyCustomer } from "../helpers";

describe("client/openapi.json", () => {
  it("equals the document the Worker serves at /openapi.json", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const live = await res.json();
    expect(live, "client/openapi.json differs from the Worker's /openapi.json: run `npm run client:generate` and commit client/").toStrictEqual(committedDocument);
  });
});

/** A client whose requests go straight into the Worker under test. */
const clientFor = (apiKey: string) => new ForesightClient({ baseUrl: "http://foresight.test", apiKey, fetch: (req) => exports.default.fetch(req) });

/** Every account this file writes has this owner, so the worklist checks ignore other files' accounts. */
const OWNER = "client-test@cs.example";
const ACME = "client:acme@eu";

let client: ForesightClient;
let admin: ForesightClient;
let version: string;

beforeAll(async () => {
  version = (await publishTelcoModel()).version;
  client = clientFor(await createKey(["score", "ingest"]));
  admin = clientFor(await createKey(["admin"]));
});

describe("ForesightClient against the Worker", () => {
  it("types its answers from the generated paths", () => {
    expectTypeOf<ScoreResult>().toEqualTypeOf<paths["/v1/score"]["post"]["responses"][200]["content"]["application/json"]>();
    expectTypeOf<Account>().toEqualTypeOf<paths["/v1/accounts/{id}"]["get"]["responses"][200]["content"]["application/json"]>();
  });

  it("types any operation's JSON answer by status with ResponseBody (200 unless given)", () => {
    expectTypeOf<ResponseBody<"/v1/score", "post">>().toEqualTypeOf<ScoreResult>();
    expectTypeOf<ResponseBody<"/v1/webhooks", "post", 201>>().toEqualTypeOf<paths["/v1/webhooks"]["post"]["responses"][201]["content"]["application/json"]>();
    expectTypeOf<ResponseBody<"/v1/models/{version}/shadow", "delete">>().toEqualTypeOf<paths["/v1/models/{version}/shadow"]["delete"]["responses"][200]["content"]["application/json"]>();
    expectTypeOf<ResponseBody<"/v1/webhooks/{id}", "delete", 204>>().toBeNever();
  });

  it("scores raw signals, with the number of drivers asked for", async () => {
    const s = await client.score({ features: riskyCustomer }, { drivers: 3 });
    expect(s.churnProbability).toBeGreaterThan(0.5);
    expect(s.churnProbability).toBeLessThan(1);
    expect(s.drivers).toHaveLength(3);
    expect(s.modelVersion).toBe(version);
    expect(s.accountId).toBeUndefined();
  });

  it("upserts, reads, patches and scores accounts (ids with : and @ survive the path)", async () => {
    const put = await client.putAccount(ACME, { name: "Acme EU", arr: 120_000, owner: OWNER, renewalDate: "2027-03-01", features: riskyCustomer });
    expect(put).toMatchObject({ id: ACME, name: "Acme EU", arr: 120_000, owner: OWNER, score: null });
    expect(put.features).toEqual(riskyCustomer);

    const { upserted } = await client.upsertAccounts([
      { id: "client-b1", arr: 50_000, owner: OWNER, features: loyalCustomer },
      { id: "client-b2", arr: 80_000, owner: OWNER, features: { ...riskyCustomer, tenure: 10 } },
      { id: "client-b3", arr: 20_000, owner: OWNER, features: { ...loyalCustomer, tenure: 30 } },
    ]);
    expect(upserted).toBe(3);

    const patched = await client.patchAccount("client-b3", { features: { tenure: 31, TotalCharges: null } });
    expect(patched.features.tenure).toBe(31);
    expect("TotalCharges" in patched.features).toBe(false);

    const scored = await client.score({ accountId: ACME });
    expect(scored.accountId).toBe(ACME);
    const batch = await client.scoreBatch(
      ["client-b1", "client-b2", "client-b3"].map((accountId) => ({ accountId })),
      { drivers: 3 },
    );
    expect(batch).toMatchObject({ scored: 3, failed: 0, modelVersion: version });

    const acme = await client.account(ACME);
    expect(acme.score?.churnProbability).toBeCloseTo(scored.churnProbability, 12);
    const history = await client.accountScores(ACME, { limit: 10 });
    expect(history.accountId).toBe(ACME);
    expect(history.scores.length).toBeGreaterThanOrEqual(1);
    expect(history.scores[0].modelVersion).toBe(version);

    const expansion = await client.expansion("client-b1");
    expect(expansion.accountId).toBe("client-b1");
    expect(typeof expansion.expansionReady).toBe("boolean");

    expect(await client.recordOutcomes({ accountId: "client-b1", type: "renewed", date: "2026-11-01", amount: 50_000 })).toEqual({ recorded: 1 });
  });

  it("lists the worklist page by page, and worklistAll follows nextCursor to the end", async () => {
    const everything = await client.worklist({ owner: OWNER, sort: "id", limit: 500 });
    const ids = everything.accounts.map((a) => a.id);
    expect(ids).toEqual(["client-b1", "client-b2", "client-b3", ACME]);
    expect(everything.nextCursor).toBeNull();

    const first = await client.worklist({ owner: OWNER, sort: "id", limit: 2 });
    expect(first.accounts.map((a) => a.id)).toEqual(ids.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));

    const walked: WorklistAccount[] = [];
    for await (const a of client.worklistAll({ owner: OWNER, sort: "id", limit: 1 })) walked.push(a);
    expect(walked.map((a) => a.id)).toEqual(ids);
    expect(walked.every((a) => a.score !== null)).toBe(true);

    const red = await client.worklist({ owner: OWNER, tier: ["red", "yellow"] });
    expect(red.accounts.map((a) => a.id)).toContain(ACME);
    expect(red.accounts.every((a) => a.score && ["red", "yellow"].includes(a.score.tier))).toBe(true);

    const portfolio = await client.portfolio();
    expect(portfolio.accounts).toBeGreaterThanOrEqual(4);
  });

  it("turns a 422 into a ForesightError naming the field", async () => {
    const err = await client.putAccount("client-bad", { owner: OWNER, features: { ...riskyCustomer, tenure: "two" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForesightError);
    const e = err as ForesightError;
    expect(e).toMatchObject({ status: 422, type: "/problems/validation-error", title: "Unprocessable Content" });
    expect(e.errors[0].field).toBe("features.tenure");
    expect(e.message).toContain("features.tenure");
    // Nothing was written.
    await expect(client.account("client-bad")).rejects.toMatchObject({ status: 404 });
    // The README's example: a partial set of signals with one of the wrong type.
    await expect(client.score({ features: { tenure: "two" } })).rejects.toMatchObject({ status: 422, errors: [expect.objectContaining({ field: "features.tenure" })], retryAfter: undefined });
  });

  it("reports bad rows in place with partial batch scoring", async () => {
    const res = await client.scoreBatch([{ features: riskyCustomer }, { accountId: "client-nobody" }], { partial: true });
    expect(res).toMatchObject({ scored: 1, failed: 1 });
    expect(isRowError(res.results[0])).toBe(false);
    const bad = res.results[1];
    expect(isRowError(bad) && bad.error.status).toBe(404);
  });

  it("lists models and activates one with an admin key; a score key is refused with 403", async () => {
    const { models } = await client.models({ target: "churn" });
    expect(models.map((m) => m.version)).toContain(version);
    expect(await admin.activateModel(version)).toMatchObject({ version, status: "active", target: "churn" });
    await expect(client.activateModel(version)).rejects.toMatchObject({ name: "ForesightError", status: 403, type: "/problems/forbidden" });
  });

  it("gives retryAfter in seconds on a 429", async () => {
    const k = await generateKey();
    await db(env.DB).insert(apiKeys).values({ id: k.id, keyHash: k.keyHash, prefix: k.prefix, scopes: ["score"], rateLimit: 1 });
    const limited = clientFor(k.key);
    // A bucket of 1 request per second: of several at once, all but one are refused.
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => limited.portfolio()));
    const refused = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const e of refused) {
      expect(e).toBeInstanceOf(ForesightError);
      expect(e).toMatchObject({ status: 429, type: "/problems/rate-limited" });
      expect((e as ForesightError).retryAfter).toBeGreaterThanOrEqual(1);
    }
  });
});
