/** Account ingest (PUT, PATCH, batch upserts) and outcomes: validation, idempotency, all or nothing. */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Account } from "../../../client/index";
import { call, createKey, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";

let key: string;

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["ingest", "score"]);
});

const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;

describe("account ingest", () => {
  it("PUT upserts an account with its features and is idempotent", async () => {
    const body = { name: "Acme", arr: 120000, renewalDate: "2027-03-01", owner: "dana@cs.example", features: riskyCustomer };
    const first = await call("PUT", "/v1/accounts/ACME-1", { key, body });
    expect(first.status).toBe(200);
    const again = await call("PUT", "/v1/accounts/ACME-1", { key, body });
    expect(again.status).toBe(200);
    const a = await again.json<Account>();
    expect(a).toMatchObject({ id: "ACME-1", name: "Acme", arr: 120000, owner: "dana@cs.example", renewalDate: "2027-03-01", score: null });
    expect(a.features).toEqual(riskyCustomer);
    expect(await count("SELECT count(*) n FROM accounts WHERE id = ?", "ACME-1")).toBe(1);
    expect(await count("SELECT count(*) n FROM signal_snapshots WHERE account_id = ?", "ACME-1")).toBe(1);
  });

  it("PATCH merges new signals into the current ones; null removes one", async () => {
    await call("PUT", "/v1/accounts/MERGE-1", { key, body: { features: riskyCustomer } });
    const res = await call("PATCH", "/v1/accounts/MERGE-1", { key, body: { owner: "lee", features: { tenure: 30, Contract: "One year", TotalCharges: null } } });
    expect(res.status).toBe(200);
    const a = await res.json<Account>();
    expect(a.owner).toBe("lee");
    expect(a.features.tenure).toBe(30);
    expect(a.features.Contract).toBe("One year");
    expect(a.features.gender).toBe("Female");
    expect("TotalCharges" in a.features).toBe(false);
  });

  it("PATCH of an unknown account is a 404 problem and creates nothing", async () => {
    const res = await call("PATCH", "/v1/accounts/GHOST", { key, body: { features: { tenure: 3 } } });
    expect(res.status).toBe(404);
    await problemOf(res);
    expect(await count("SELECT count(*) n FROM accounts WHERE id = 'GHOST'")).toBe(0);
    expect(await count("SELECT count(*) n FROM signal_snapshots WHERE account_id = 'GHOST'")).toBe(0);
  });

  it("a batch of 1,000 accounts is written in chunks under D1's parameter limit", async () => {
    const accounts = Array.from({ length: 1000 }, (_, i) => ({ id: `B-${i}`, arr: i * 10, features: { ...riskyCustomer, tenure: i % 72 } }));
    const res = await call("POST", "/v1/accounts/batch", { key, body: { accounts } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ upserted: 1000 });
    expect(await count("SELECT count(*) n FROM accounts WHERE id LIKE 'B-%'")).toBe(1000);
    const again = await call("POST", "/v1/accounts/batch", { key, body: { accounts } });
    expect(again.status).toBe(200);
    expect(await count("SELECT count(*) n FROM accounts WHERE id LIKE 'B-%'")).toBe(1000);
  });

  it("a batch with any bad row writes nothing and names each bad row and field", async () => {
    const accounts = [
      { id: "OK-1", features: riskyCustomer },
      { id: "BAD-2", features: { ...riskyCustomer, tenure: "two" } },
      { id: "OK-3", features: riskyCustomer },
      { id: "BAD-4", features: { ...riskyCustomer, Contrct: "Month-to-month" } },
    ];
    const res = await call("POST", "/v1/accounts/batch", { key, body: { accounts } });
    expect(res.status).toBe(422);
    const p = await problemOf(res);
    expect(p.errors?.map((e) => e.field)).toEqual(["accounts[1].features.tenure", "accounts[3].features.Contrct"]);
    expect(await count("SELECT count(*) n FROM accounts WHERE id IN ('OK-1','OK-3','BAD-2','BAD-4')")).toBe(0);
  });

  it("a batch over 1,000 rows is 422; a schema error in a row names the row", async () => {
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `T-${i}`, features: {} }));
    const res = await call("POST", "/v1/accounts/batch", { key, body: { accounts: tooMany } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0].field).toBe("accounts");
    const badId = await call("POST", "/v1/accounts/batch", { key, body: { accounts: [{ id: "ok", features: {} }, { id: "no spaces", features: {} }] } });
    expect(badId.status).toBe(422);
    expect((await problemOf(badId)).errors?.[0].field).toBe("accounts[1].id");
    expect(await count("SELECT count(*) n FROM accounts WHERE id IN ('ok','no spaces')")).toBe(0);
  });

  it("duplicate ids in one batch are refused", async () => {
    const res = await call("POST", "/v1/accounts/batch", { key, body: { accounts: [{ id: "D", features: {} }, { id: "D", features: {} }] } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0].field).toBe("accounts[1].id");
  });
});

describe("outcomes", () => {
  it("records churned, renewed and expanded events, idempotent by account, type and date", async () => {
    await call("PUT", "/v1/accounts/OUT-1", { key, body: { features: riskyCustomer } });
    const body = { outcomes: [
      { accountId: "OUT-1", type: "renewed", date: "2026-01-31", amount: 12000 },
      { accountId: "OUT-1", type: "expanded", date: "2026-06-30", amount: 3000 },
    ] };
    expect((await call("POST", "/v1/outcomes", { key, body })).status).toBe(200);
    const res = await call("POST", "/v1/outcomes", { key, body: { accountId: "OUT-1", type: "expanded", date: "2026-06-30", amount: 3500 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recorded: 1 });
    const rows = await env.DB.prepare("SELECT type, date, amount FROM outcomes WHERE account_id = 'OUT-1' ORDER BY date").all();
    expect(rows.results).toEqual([
      { type: "renewed", date: "2026-01-31", amount: 12000 },
      { type: "expanded", date: "2026-06-30", amount: 3500 },
    ]);
  });

  it("unknown accounts, bad types and bad dates are 422 and write nothing", async () => {
    await call("PUT", "/v1/accounts/OUT-2", { key, body: { features: riskyCustomer } });
    const res = await call("POST", "/v1/outcomes", { key, body: { outcomes: [
      { accountId: "OUT-2", type: "churned", date: "2026-02-01" },
      { accountId: "NOBODY", type: "churned", date: "2026-02-01" },
    ] } });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors).toEqual([{ field: "outcomes[1].accountId", detail: "no account 'NOBODY'" }]);
    const bad = await call("POST", "/v1/outcomes", { key, body: { outcomes: [{ accountId: "OUT-2", type: "upsold", date: "2026-13-45" }] } });
    expect(bad.status).toBe(422);
    const fields = (await problemOf(bad)).errors?.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["outcomes[0].type", "outcomes[0].date"]));
    expect(await count("SELECT count(*) n FROM outcomes WHERE account_id = 'OUT-2'")).toBe(0);
  });
});
