/** `POST /v1/score/batch`: order, all-or-nothing by default, per-row errors with ?partial=true, limits. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { BatchRowError, BatchScore, BatchScoreResponse, ScoreResult } from "../../../client/index";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

let key: string;

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["score", "ingest"]);
  await call("PUT", "/v1/accounts/BATCH-1", { key, body: { name: "Batch One", arr: 1200, features: riskyCustomer } });
});

const scoreCount = async (id: string) => (await env.DB.prepare("SELECT count(*) AS n FROM scores WHERE account_id = ?1").bind(id).first<{ n: number }>())!.n;

describe("POST /v1/score/batch", () => {
  it("scores features and stored accounts in request order, each like the single route, and keeps stored accounts' history", async () => {
    const before = await scoreCount("BATCH-1");
    const res = await call("POST", "/v1/score/batch?drivers=3", { key, body: { rows: [{ features: loyalCustomer }, { accountId: "BATCH-1" }, { features: riskyCustomer }] } });
    expect(res.status).toBe(200);
    const b = await res.json<BatchScoreResponse>();
    expect(b.scored).toBe(3);
    expect(b.failed).toBe(0);
    const [loyal, stored, risky] = b.results as BatchScore[];
    const single = await (await call("POST", "/v1/score", { key, body: { features: loyalCustomer } })).json<ScoreResult>();
    expect(loyal.churnProbability).toBeCloseTo(single.churnProbability, 12);
    expect(loyal.churnProbability).toBeLessThan(risky.churnProbability);
    expect(stored.accountId).toBe("BATCH-1");
    expect(stored.churnProbability).toBeCloseTo(risky.churnProbability, 12);
    expect(loyal.drivers).toHaveLength(3);
    expect(await scoreCount("BATCH-1")).toBe(before + 1);
  });

  it("skips explanations by default (drivers 0) for speed", async () => {
    const b = await (await call("POST", "/v1/score/batch", { key, body: { rows: [{ features: riskyCustomer }] } })).json<BatchScoreResponse>();
    const r = b.results[0] as BatchScore;
    expect(r.drivers).toEqual([]);
    expect(r.nextAction).toBeNull();
  });

  it("rejects the whole batch by default, naming every bad row, and stores nothing", async () => {
    const before = await scoreCount("BATCH-1");
    const res = await call("POST", "/v1/score/batch", {
      key,
      body: { rows: [{ accountId: "BATCH-1" }, { features: { ...riskyCustomer, tenure: "long" } }, { accountId: "NO-SUCH" }, { features: riskyCustomer, accountId: "BATCH-1" }, "nonsense"] },
    });
    expect(res.status).toBe(422);
    const fields = (await problemOf(res)).errors!.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["rows[1].features.tenure", "rows[2].accountId", "rows[3].accountId", "rows[4]"]));
    expect(fields.some((f) => f.startsWith("rows[0]"))).toBe(false);
    expect(await scoreCount("BATCH-1")).toBe(before);
  });

  it("with ?partial=true scores the good rows and reports each bad one in place", async () => {
    const before = await scoreCount("BATCH-1");
    const res = await call("POST", "/v1/score/batch?partial=true", { key, body: { rows: [{ features: { ...riskyCustomer, tenure: "long" } }, { accountId: "BATCH-1" }, { accountId: "NO-SUCH" }] } });
    expect(res.status).toBe(200);
    const b = await res.json<BatchScoreResponse>();
    expect([b.scored, b.failed]).toEqual([1, 2]);
    const [bad, good, missing] = b.results as [BatchRowError, BatchScore, BatchRowError];
    expect(bad.index).toBe(0);
    expect(bad.error.status).toBe(422);
    expect(bad.error.errors![0].field).toBe("rows[0].features.tenure");
    expect(good.accountId).toBe("BATCH-1");
    expect(missing.error.status).toBe(404);
    expect(await scoreCount("BATCH-1")).toBe(before + 1);
  });

  it("1,000 rows are fine; 1,001 are a 422 naming rows; an empty batch is a 422", async () => {
    const ok = await call("POST", "/v1/score/batch", { key, body: { rows: Array.from({ length: 1000 }, (_, i) => ({ features: { ...riskyCustomer, tenure: i % 72 } })) } });
    expect(ok.status).toBe(200);
    const b = await ok.json<BatchScoreResponse>();
    expect(b.results).toHaveLength(1000);
    // tenure drives risk down: the first row (tenure 0) is riskier than row 71 (tenure 71).
    expect((b.results[0] as BatchScore).churnProbability).toBeGreaterThan((b.results[71] as BatchScore).churnProbability);
    const tooMany = await call("POST", "/v1/score/batch", { key, body: { rows: Array.from({ length: 1001 }, () => ({ features: riskyCustomer })) } });
    expect(tooMany.status).toBe(422);
    expect((await problemOf(tooMany)).errors![0].field).toBe("rows");
    expect((await call("POST", "/v1/score/batch", { key, body: { rows: [] } })).status).toBe(422);
    expect((await call("POST", "/v1/score/batch?partial=maybe", { key, body: { rows: [{ features: riskyCustomer }] } })).status).toBe(422);
  });
});
