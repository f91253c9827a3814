/**
 * /v1/playbooks in workerd with real D1: the defaults on a fresh database, admin CRUD with
 * versions (PUT and PATCH append, DELETE retires, every version stays readable), scopes, the
 * OpenAPI document, and bad input answered with problem+json naming the field, writing nothing.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { Playbook, PlaybookList, PlaybookWithVersions } from "../../../workers/playbooks/schemas";
import { call, createKey, problemOf } from "../helpers";

type One = z.infer<typeof Playbook>;
type List = z.infer<typeof PlaybookList>;
type WithVersions = z.infer<typeof PlaybookWithVersions>;

let admin: string;
let reader: string;

const body = {
  name: "Renewal rescue",
  tier: "red",
  driver: "renewal",
  leadDays: 21,
  steps: [
    { title: "Call the economic buyer", dueDays: 1 },
    { title: "Send the renewal proposal", dueDays: 5 },
  ],
  template: { subject: "{{name}}: your renewal", body: "Hi {{name}},{{#renewalDate}} your renewal is on {{renewalDate}}.{{/renewalDate}}\n\n{{owner}}" },
};

async function rowCount(): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM playbooks").first<{ n: number }>())!.n;
}

beforeAll(async () => {
  admin = await createKey(["admin"]);
  reader = await createKey(["score"]);
});

describe("the default playbooks", () => {
  it("are there on a fresh database without anyone writing them, for red, yellow and blue", async () => {
    expect(await rowCount()).toBe(0);
    const res = await call("GET", "/v1/playbooks", { key: reader });
    expect(res.status).toBe(200);
    const { playbooks } = await res.json<List>();
    expect(playbooks.map((p) => [p.id, p.tier, p.driver, p.leadDays])).toEqual([
      ["red-tickets", "red", "tickets", 7],
      ["red-rescue", "red", null, 7],
      ["yellow-logins", "yellow", "logins", 14],
      ["yellow-engage", "yellow", null, 14],
      ["blue-expand", "blue", null, 14],
    ]);
    const red = playbooks.find((p) => p.id === "red-rescue")!;
    expect(red.steps.map((s) => s.title).join(" | ")).toMatch(/executive business review.*stakeholders.*success plan/i);
    expect(red.steps.find((s) => /Hold the executive business review/.test(s.title))!.dueDays).toBeGreaterThanOrEqual(5);
    expect(red.steps.find((s) => /Hold the executive business review/.test(s.title))!.dueDays).toBeLessThanOrEqual(7);
    expect(playbooks.find((p) => p.id === "yellow-engage")!.steps.map((s) => s.title).join(" | ")).toMatch(/check-in.*case studies.*features that correlate with retention/i);
    expect(playbooks.find((p) => p.id === "blue-expand")!.steps.map((s) => s.title).join(" | ")).toMatch(/advanced use cases.*beta programme.*pricing for more seats or modules/i);
    for (const p of playbooks) expect(p).toMatchObject({ version: 1, retiredAt: null, template: { subject: expect.any(String), body: expect.stringContaining("{{") } });
    // Reading again writes nothing more.
    await call("GET", "/v1/playbooks", { key: reader });
    expect(await rowCount()).toBe(5);
  });
});

describe("admin CRUD with versions", () => {
  it("creates a playbook as version 1, with a generated id when none is given, and 409s an existing id", async () => {
    const res = await call("POST", "/v1/playbooks", { key: admin, body: { ...body, id: "renewal-rescue" } });
    expect(res.status).toBe(201);
    expect(await res.json<One>()).toMatchObject({ ...body, id: "renewal-rescue", version: 1, retiredAt: null });
    const generated = await call("POST", "/v1/playbooks", { key: admin, body: { ...body, driver: undefined, tier: "blue" } });
    expect(generated.status).toBe(201);
    expect(await generated.json<One>()).toMatchObject({ id: expect.stringMatching(/^pb_[0-9a-f]{12}$/), driver: null, tier: "blue" });
    for (const id of ["renewal-rescue", "red-rescue"]) {
      const dup = await call("POST", "/v1/playbooks", { key: admin, body: { ...body, id } });
      expect(dup.status).toBe(409);
      expect((await problemOf(dup)).errors).toEqual([{ field: "id", detail: "already exists" }]);
    }
  });

  it("appends a version on PUT and on PATCH, keeping every earlier version readable", async () => {
    const put = await call("PUT", "/v1/playbooks/renewal-rescue", { key: admin, body: { ...body, name: "Renewal rescue v2", leadDays: 28 } });
    expect(put.status).toBe(200);
    expect(await put.json<WithVersions>()).toMatchObject({ version: 2, name: "Renewal rescue v2", leadDays: 28, versions: [{ version: 1, name: "Renewal rescue" }, { version: 2 }] });
    const patch = await call("PATCH", "/v1/playbooks/renewal-rescue", { key: admin, body: { driver: null, template: { subject: "Renewal at {{name}}" } } });
    expect(patch.status).toBe(200);
    const v3 = await patch.json<WithVersions>();
    expect(v3).toMatchObject({ version: 3, name: "Renewal rescue v2", driver: null, leadDays: 28, template: { subject: "Renewal at {{name}}", body: body.template.body } });
    expect(v3.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    const v1 = await call("GET", "/v1/playbooks/renewal-rescue/versions/1", { key: admin });
    expect(await v1.json<One>()).toMatchObject({ ...body, version: 1 });
    const current = await (await call("GET", "/v1/playbooks/renewal-rescue", { key: admin })).json<WithVersions>();
    expect(current).toMatchObject({ version: 3, template: { subject: "Renewal at {{name}}" } });
    const listed = (await (await call("GET", "/v1/playbooks", { key: reader })).json<List>()).playbooks.filter((p) => p.id === "renewal-rescue");
    expect(listed.map((p) => p.version)).toEqual([3]);
  });

  it("retires on DELETE: no longer listed or editable, every version still readable, and a deleted default stays retired", async () => {
    const del = await call("DELETE", "/v1/playbooks/renewal-rescue", { key: admin });
    expect(del.status).toBe(200);
    expect(await del.json<One>()).toMatchObject({ version: 3, retiredAt: expect.any(String) });
    const again = await call("DELETE", "/v1/playbooks/renewal-rescue", { key: admin });
    expect(again.status).toBe(409);
    const edit = await call("PATCH", "/v1/playbooks/renewal-rescue", { key: admin, body: { leadDays: 3 } });
    expect(edit.status).toBe(409);
    expect((await problemOf(edit)).type).toBe("/problems/playbook-retired");
    expect((await call("GET", "/v1/playbooks/renewal-rescue/versions/2", { key: admin })).status).toBe(200);
    expect(await (await call("GET", "/v1/playbooks/renewal-rescue", { key: admin })).json<WithVersions>()).toMatchObject({ version: 3, retiredAt: expect.any(String) });

    expect((await call("DELETE", "/v1/playbooks/blue-expand", { key: admin })).status).toBe(200);
    const ids = (await (await call("GET", "/v1/playbooks", { key: reader })).json<List>()).playbooks.map((p) => p.id);
    expect(ids).not.toContain("renewal-rescue");
    expect(ids).not.toContain("blue-expand");
    expect(ids).toContain("red-rescue");
  });

  it("is 404 for an unknown playbook or version, naming the field", async () => {
    for (const [method, path] of [["GET", "/v1/playbooks/nope"], ["PUT", "/v1/playbooks/nope"], ["PATCH", "/v1/playbooks/nope"], ["DELETE", "/v1/playbooks/nope"]] as const) {
      const res = await call(method, path, { key: admin, body: method === "PUT" ? body : method === "PATCH" ? { leadDays: 3 } : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await problemOf(res)).errors![0].field).toBe("id");
    }
    const version = await call("GET", "/v1/playbooks/red-rescue/versions/9", { key: admin });
    expect(version.status).toBe(404);
    expect((await problemOf(version)).errors![0].field).toBe("version");
  });

  it("lets score and ingest keys list playbooks, and only admin keys change or read them one by one", async () => {
    const ingest = await createKey(["ingest"]);
    expect((await call("GET", "/v1/playbooks", { key: ingest })).status).toBe(200);
    expect((await call("POST", "/v1/playbooks", { key: reader, body })).status).toBe(403);
    expect((await call("GET", "/v1/playbooks/red-rescue", { key: reader })).status).toBe(403);
    expect((await call("DELETE", "/v1/playbooks/red-rescue", { key: ingest })).status).toBe(403);
    expect((await call("GET", "/v1/playbooks")).status).toBe(401);
  });

  it("lists every playbook route and the recommendation in /openapi.json", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        "GET /v1/playbooks",
        "POST /v1/playbooks",
        "GET /v1/playbooks/{id}",
        "PUT /v1/playbooks/{id}",
        "PATCH /v1/playbooks/{id}",
        "DELETE /v1/playbooks/{id}",
        "GET /v1/playbooks/{id}/versions/{version}",
        "GET /v1/accounts/{id}/recommendation",
      ]),
    );
  });
});

describe("bad input gets problem+json naming the field, and writes nothing", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a tier without playbooks", { ...body, tier: "green" }, "tier"],
    ["lead days over 365", { ...body, leadDays: 400 }, "leadDays"],
    ["fractional lead days", { ...body, leadDays: 1.5 }, "leadDays"],
    ["no steps", { ...body, steps: [] }, "steps"],
    ["a step without dueDays", { ...body, steps: [{ title: "Call" }] }, "steps[0].dueDays"],
    ["steps out of order", { ...body, steps: [{ title: "a", dueDays: 5 }, { title: "b", dueDays: 2 }] }, "steps[1].dueDays"],
    ["a template without a body", { ...body, template: { subject: "Hi" } }, "template.body"],
    ["an unknown placeholder", { ...body, template: { subject: "Hi {{firstname}}", body: "x" } }, "template.subject"],
    ["an unclosed section", { ...body, template: { subject: "Hi", body: "{{#owner}}x" } }, "template.body"],
    ["a driver that is not a plain name", { ...body, driver: "{{logins}}" }, "driver"],
    ["an id with a slash", { ...body, id: "a/b" }, "id"],
    ["an unknown field", { ...body, colour: "red" }, "body"],
  ];
  for (const [what, bad, field] of cases) {
    it(`${what} → 422 naming ${field}`, async () => {
      const before = await rowCount();
      const res = await call("POST", "/v1/playbooks", { key: admin, body: bad });
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors!.map((e) => e.field)).toContain(field);
      expect(await rowCount()).toBe(before);
    });
  }

  it("an empty PATCH or a bad one → 422, and no new version", async () => {
    const before = await rowCount();
    const empty = await call("PATCH", "/v1/playbooks/red-rescue", { key: admin, body: {} });
    expect(empty.status).toBe(422);
    expect((await problemOf(empty)).errors![0].field).toBe("body");
    const bad = await call("PATCH", "/v1/playbooks/red-rescue", { key: admin, body: { template: { body: "{{nope}}" } } });
    expect((await problemOf(bad)).errors!.map((e) => e.field)).toEqual(["template.body"]);
    expect(await rowCount()).toBe(before);
    const version = await call("GET", "/v1/playbooks/red-rescue/versions/first", { key: admin });
    expect(version.status).toBe(422);
    expect((await problemOf(version)).errors![0].field).toBe("params.version");
  });
});
