/**
 * Interventions inside workerd with real local D1: starting a playbook on an account (its version
 * fixed then, kept after the playbook is edited), steps merged by index, closing and reopening,
 * problems naming fields with nothing written, and the use counted per owner per day.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Problem } from "../../../client/index";
import { addDays } from "../../../shared/days";
import { playbooks } from "../../../shared/db/schema";
import { db, today } from "../../../shared/db/write";
import type { Intervention } from "../../../workers/interventions/schemas";
import { DEFAULT_PLAYBOOKS } from "../../../shared/cs/default-playbooks";
import { call, createKey, problemOf } from "../helpers";

let ingest: string;
let reader: string;

const RED_V1 = [
  { title: "Executive business review", dueDays: 7 },
  { title: "Stakeholder interviews", dueDays: 14 },
  { title: "Success plan agreed", dueDays: 30 },
];

beforeAll(async () => {
  ingest = await createKey(["ingest"]);
  reader = await createKey(["score"]);
  const template = { subject: "Checking in, {{account.name}}", body: "Hello {{account.owner}}" };
  await db(env.DB)
    .insert(playbooks)
    .values([
      { id: "iv-red", version: 1, name: "Red rescue", tier: "red", driver: null, leadDays: 7, steps: RED_V1, template },
      { id: "iv-gone", version: 1, name: "Old play", tier: "yellow", driver: null, leadDays: 14, steps: [{ title: "Call", dueDays: 2 }], template, retiredAt: "2026-01-01T00:00:00.000Z" },
    ]);
  for (const [id, owner] of [["IV-1", "dana"], ["IV-2", "lee"], ["IV-3", null], ["IV-4", "kim"]] as const) {
    const res = await call("PUT", `/v1/accounts/${id}`, { key: ingest, body: { name: `Account ${id}`, owner, features: { logins_30d: 4 } } });
    expect(res.status).toBe(200);
  }
});

const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>())!.n;
const usage = (owner: string) => count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage WHERE owner = ?1 AND day = ?2 AND action = 'intervention'", owner, today());

async function start(body: Record<string, unknown>): Promise<Intervention> {
  const res = await call("POST", "/v1/interventions", { key: ingest, body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<Intervention>();
}

async function fieldsOf(res: Response, status: number): Promise<string[]> {
  expect(res.status).toBe(status);
  const p: Problem = await problemOf(res);
  return p.errors!.map((e) => e.field);
}

describe("POST /v1/interventions", () => {
  it("records the intervention with the playbook's current version, its steps and due dates, status open", async () => {
    const before = await usage("dana");
    const iv = await start({ accountId: "IV-1", playbookId: "iv-red", startedAt: "2026-03-02", notes: "Champion left" });
    expect(iv.id).toMatch(/^iv_[0-9a-f]{24}$/);
    expect(iv).toMatchObject({
      accountId: "IV-1",
      accountName: "Account IV-1",
      owner: "dana",
      startedAt: "2026-03-02",
      notes: "Champion left",
      status: "open",
      result: null,
      closedAt: null,
      playbook: { id: "iv-red", version: 1, name: "Red rescue", tier: "red" },
    });
    expect(iv.steps).toEqual([
      { step: 0, title: "Executive business review", dueDays: 7, dueDate: "2026-03-09", done: false, doneAt: null, note: null },
      { step: 1, title: "Stakeholder interviews", dueDays: 14, dueDate: "2026-03-16", done: false, doneAt: null, note: null },
      { step: 2, title: "Success plan agreed", dueDays: 30, dueDate: "2026-04-01", done: false, doneAt: null, note: null },
    ]);
    const read = await call("GET", `/v1/interventions/${iv.id}`, { key: reader });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(iv);
    expect(await usage("dana")).toBe(before + 1);
  });

  it("takes a timestamp (stored in UTC), an explicit owner, and defaults startedAt to now", async () => {
    const iv = await start({ accountId: "IV-3", playbookId: "iv-red", owner: "sam", startedAt: "2026-05-31T23:30:00-02:00" });
    expect(iv.startedAt).toBe("2026-06-01T01:30:00.000Z");
    expect(iv.owner).toBe("sam");
    expect(iv.steps[0].dueDate).toBe("2026-06-08");
    const now = await start({ accountId: "IV-2", playbookId: "iv-red" });
    expect(Math.abs(Date.parse(now.startedAt) - Date.now())).toBeLessThan(60_000);
    expect(now.steps[0].dueDate).toBe(addDays(today(), 7));
  });

  it("keeps the version an intervention started with after the playbook is edited", async () => {
    const d = db(env.DB);
    const template = { subject: "s", body: "b" };
    await d.insert(playbooks).values({ id: "iv-edit", version: 1, name: "Yellow touchpoints", tier: "yellow", driver: null, leadDays: 14, steps: RED_V1, template });
    const first = await start({ accountId: "IV-4", playbookId: "iv-edit", startedAt: "2026-04-01" });
    expect(first.playbook.version).toBe(1);
    // An edit appends a version (what PUT /v1/playbooks/{id} does).
    await d.insert(playbooks).values({ id: "iv-edit", version: 2, name: "Yellow touchpoints (short)", tier: "yellow", driver: null, leadDays: 5, steps: [{ title: "Call the sponsor", dueDays: 1 }], template });
    const second = await start({ accountId: "IV-4", playbookId: "iv-edit", startedAt: "2026-04-02" });
    expect(second.playbook).toEqual({ id: "iv-edit", version: 2, name: "Yellow touchpoints (short)", tier: "yellow" });
    expect(second.steps.map((s) => s.title)).toEqual(["Call the sponsor"]);
    const old = await (await call("GET", `/v1/interventions/${first.id}`, { key: reader })).json<Intervention>();
    expect(old.playbook).toEqual({ id: "iv-edit", version: 1, name: "Yellow touchpoints", tier: "yellow" });
    expect(old.steps.map((s) => s.title)).toEqual(RED_V1.map((s) => s.title));
    const pinned = await start({ accountId: "IV-4", playbookId: "iv-edit", playbookVersion: 1, startedAt: "2026-04-03" });
    expect(pinned.playbook.version).toBe(1);

    const list = await call("GET", "/v1/accounts/IV-4/interventions", { key: reader });
    expect(list.status).toBe(200);
    const { interventions } = await list.json<{ interventions: Intervention[] }>();
    expect(interventions.map((i) => i.id)).toEqual([pinned.id, second.id, first.id]);
    expect(interventions.map((i) => i.playbook.version)).toEqual([1, 2, 1]);
  });

  it("runs a default playbook on a fresh installation, with no playbook written through the API", async () => {
    const red = DEFAULT_PLAYBOOKS.find((p) => p.tier === "red" && p.driver === null)!;
    const iv = await start({ accountId: "IV-1", playbookId: red.id, startedAt: "2026-06-01" });
    expect(iv.playbook).toEqual({ id: red.id, version: 1, name: red.name, tier: "red" });
    expect(iv.steps.map((s) => [s.title, s.dueDate])).toEqual(red.steps.map((s) => [s.title, addDays("2026-06-01", s.dueDays)]));
  });

  it("refuses unknown accounts, playbooks and versions, a retired playbook and an ownerless account with 422s naming the field, writing nothing", async () => {
    const rows = await count("SELECT count(*) AS n FROM interventions");
    const used = await count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage");
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "NOPE", playbookId: "iv-red" } }), 422)).toEqual(["accountId"]);
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "IV-1", playbookId: "no-such" } }), 422)).toEqual(["playbookId"]);
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "NOPE", playbookId: "no-such" } }), 422)).toEqual(["accountId", "playbookId"]);
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "IV-1", playbookId: "iv-red", playbookVersion: 9 } }), 422)).toEqual(["playbookVersion"]);
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "IV-1", playbookId: "iv-gone" } }), 422)).toEqual(["playbookId"]);
    expect(await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body: { accountId: "IV-3", playbookId: "iv-red" } }), 422)).toEqual(["owner"]);
    for (const [body, field] of [
      [{ accountId: "IV-1", playbookId: "iv-red", startedAt: "2026-02-30" }, "startedAt"],
      [{ accountId: "IV-1", playbookId: "iv-red", startedAt: "yesterday" }, "startedAt"],
      [{ accountId: "IV-1", playbookId: "iv-red", colour: "red" }, "body"],
      [{ playbookId: "iv-red" }, "accountId"],
      [{ accountId: "IV-1", playbookId: "iv-red", playbookVersion: 1.5 }, "playbookVersion"],
    ] as const) {
      const fields = await fieldsOf(await call("POST", "/v1/interventions", { key: ingest, body }), 422);
      expect(fields.some((f) => f === field || f.startsWith(field)), `${JSON.stringify(body)} → ${fields}`).toBe(true);
    }
    expect(await count("SELECT count(*) AS n FROM interventions")).toBe(rows);
    expect(await count("SELECT coalesce(sum(count), 0) AS n FROM owner_usage")).toBe(used);
    // A retired playbook's past version can still be recorded by naming it.
    expect((await start({ accountId: "IV-1", playbookId: "iv-gone", playbookVersion: 1, startedAt: "2025-12-01" })).playbook.name).toBe("Old play");
  });

  it("needs the ingest scope to write and score or ingest to read", async () => {
    expect((await call("POST", "/v1/interventions", { key: reader, body: { accountId: "IV-1", playbookId: "iv-red" } })).status).toBe(403);
    expect((await call("GET", "/v1/accounts/IV-1/interventions", { key: ingest })).status).toBe(200);
    expect(await fieldsOf(await call("GET", "/v1/accounts/NOPE/interventions", { key: reader }), 404)).toEqual(["id"]);
    expect(await fieldsOf(await call("GET", `/v1/interventions/iv_${"0".repeat(24)}`, { key: reader }), 404)).toEqual(["id"]);
    expect(await fieldsOf(await call("GET", "/v1/interventions/42", { key: reader }), 422)).toEqual(["params.id"]);
  });
});

describe("PATCH /v1/interventions/{id}", () => {
  it("merges steps done by index, closes with a result and reopens, counting each PATCH", async () => {
    const iv = await start({ accountId: "IV-2", playbookId: "iv-red", playbookVersion: 1, startedAt: "2026-03-02" });
    const before = await usage("lee");
    const patch = (body: unknown) => call("PATCH", `/v1/interventions/${iv.id}`, { key: ingest, body });

    const first = await patch({ stepsDone: [{ step: 0 }] });
    expect(first.status).toBe(200);
    const a = await first.json<Intervention>();
    expect(a.steps[0].done).toBe(true);
    expect(Math.abs(Date.parse(a.steps[0].doneAt!) - Date.now())).toBeLessThan(60_000);
    expect(a.steps.slice(1).map((s) => s.done)).toEqual([false, false]);

    const b = await (await patch({ stepsDone: [{ step: 2, doneAt: "2026-03-20", note: "signed" }, { step: 0, note: "EBR held with the CFO" }] })).json<Intervention>();
    expect(b.steps.map((s) => [s.done, s.doneAt, s.note])).toEqual([
      [true, a.steps[0].doneAt, "EBR held with the CFO"],
      [false, null, null],
      [true, "2026-03-20", "signed"],
    ]);
    expect(b.status).toBe("open");

    const closed = await (await patch({ status: "completed", result: "retained", resultNote: "Renewed for two years" })).json<Intervention>();
    expect(closed).toMatchObject({ status: "completed", result: "retained", resultNote: "Renewed for two years" });
    expect(Math.abs(Date.parse(closed.closedAt!) - Date.now())).toBeLessThan(60_000);
    expect(closed.steps).toEqual(b.steps);
    const noted = await (await patch({ notes: "Follow-up QBR booked" })).json<Intervention>();
    expect(noted.closedAt).toBe(closed.closedAt);
    const reopened = await (await patch({ status: "open" })).json<Intervention>();
    expect(reopened).toMatchObject({ status: "open", closedAt: null, result: "retained", notes: "Follow-up QBR booked" });

    const stored = await (await call("GET", `/v1/interventions/${iv.id}`, { key: reader })).json<Intervention>();
    expect(stored).toEqual(reopened);
    expect(await usage("lee")).toBe(before + 5);
  });

  it("refuses a step outside the version's steps, naming it, and writes nothing", async () => {
    const iv = await start({ accountId: "IV-2", playbookId: "iv-red", playbookVersion: 1, startedAt: "2026-03-02" });
    const before = await usage("lee");
    const res = await call("PATCH", `/v1/interventions/${iv.id}`, { key: ingest, body: { stepsDone: [{ step: 1 }, { step: 3 }], status: "completed" } });
    expect(await fieldsOf(res, 422)).toEqual(["stepsDone[1].step"]);
    for (const [body, field] of [
      [{}, "body"],
      [{ status: "done" }, "status"],
      [{ result: "saved" }, "result"],
      [{ stepsDone: [{ step: -1 }] }, "stepsDone[0].step"],
      [{ stepsDone: [{ step: 0, doneAt: "soon" }] }, "stepsDone[0].doneAt"],
    ] as const) {
      expect(await fieldsOf(await call("PATCH", `/v1/interventions/${iv.id}`, { key: ingest, body }), 422), JSON.stringify(body)).toContain(field);
    }
    const stored = await (await call("GET", `/v1/interventions/${iv.id}`, { key: reader })).json<Intervention>();
    expect(stored).toEqual(iv);
    expect(await usage("lee")).toBe(before);
    expect(await fieldsOf(await call("PATCH", `/v1/interventions/iv_${"f".repeat(24)}`, { key: ingest, body: { status: "completed" } }), 404)).toEqual(["id"]);
  });
});

describe("the OpenAPI document", () => {
  it("lists the intervention routes", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    expect(Object.keys(doc.paths["/v1/interventions"])).toContain("post");
    expect(Object.keys(doc.paths["/v1/interventions/{id}"]).sort()).toEqual(["get", "patch"]);
    expect(Object.keys(doc.paths["/v1/accounts/{id}/interventions"])).toContain("get");
  });
});
