/**
 * The insights routes inside workerd with real local D1: 404 before any digest, `week` checked
 * (pattern and a real ISO week: 422 naming it), scopes, `POST /v1/insights/generate` for the week
 * that just ended (final, sent once) and for the week in progress (a preview: rebuilt, never sent),
 * weeks not started or too old for their events (422), and both routes in /openapi.json.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { addDays } from "../../../shared/days";
import type { Digest } from "../../../workers/insights/schemas";
import { isoWeekOf, mondayOf, weekJustEnded } from "../../../workers/insights/weeks";
import { call, createKey, problemOf, publishTelcoModel } from "../helpers";

let admin: string;
let reader: string;
const today = new Date().toISOString().slice(0, 10);
const thisWeek = isoWeekOf(today);

const countOf = async (sql: string, ...binds: string[]) => (await env.DB.prepare(sql).bind(...binds).first<{ n: number }>())!.n;

afterEach(() => vi.useRealTimers());

beforeAll(async () => {
  await publishTelcoModel();
  admin = await createKey(["admin"]);
  reader = await createKey(["ingest"]);
});

describe("GET /v1/insights", () => {
  it("is a 404 problem before any digest is stored, and for a week without one", async () => {
    const latest = await call("GET", "/v1/insights", { key: reader });
    expect(latest.status).toBe(404);
    expect((await problemOf(latest)).detail).toMatch(/^No digest yet/);
    const res = await call("GET", "/v1/insights?week=2020-W53", { key: reader });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).errors).toEqual([{ field: "query.week", detail: "no digest stored for this week" }]);
  });

  it("refuses a week that is malformed or no real ISO week, naming week", async () => {
    for (const week of ["2026-49", "2026-W9", "26-W49", "2026-W00", "2026-W54", "2021-W53"]) {
      const res = await call("GET", `/v1/insights?week=${week}`, { key: reader });
      expect(res.status, week).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.map((e) => e.field)).toEqual(["query.week"]);
    }
  });

  it("needs a key", async () => {
    expect((await call("GET", "/v1/insights")).status).toBe(401);
  });
});

describe("POST /v1/insights/generate", () => {
  it("builds the week that just ended (on the Monday after it), final and sent once; asking again returns it (200)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date(`${mondayOf(today)}T10:00:00.000Z`));
    const week = weekJustEnded(new Date());
    const res = await call("POST", "/v1/insights/generate", { key: admin });
    expect(res.status, await res.clone().text()).toBe(201);
    const built = await res.json<Digest>();
    expect(built).toMatchObject({ week, complete: true, eventId: expect.stringMatching(/^evt_/), generatedAt: `${mondayOf(today)}T10:00:00.000Z` });
    const again = await call("POST", "/v1/insights/generate", { key: admin, body: {} });
    expect(again.status).toBe(200);
    expect(await again.json<Digest>()).toEqual(built);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE type = 'insights.weekly' AND id = ?1", built.eventId!)).toBe(1);
    expect(await (await call("GET", `/v1/insights?week=${week}`, { key: reader })).json<Digest>()).toEqual(built);
  });

  it("refuses a week once retention has removed its first days' events, suggesting a preview", async () => {
    // Two weeks and a day after a week began, RETENTION_EVENT_DAYS (14) days back is that week's Tuesday.
    vi.useFakeTimers({ toFake: ["Date"] });
    const tuesday = addDays(mondayOf(today), -6);
    vi.setSystemTime(new Date(`${tuesday}T10:00:00.000Z`));
    const week = isoWeekOf(addDays(tuesday, -15));
    const res = await call("POST", "/v1/insights/generate", { key: admin, body: { week } });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.detail).toBe(`${week} is too old to build: its events have left D1. The weekly cron builds each week on the Monday after it; {"week": "${isoWeekOf(tuesday)}"} builds a preview of this week.`);
    expect(problem.errors).toEqual([{ field: "week", detail: `began on ${addDays(tuesday, -15)}, more than RETENTION_EVENT_DAYS (14) days ago, so its tier-change events are no longer in D1` }]);
    expect(await countOf("SELECT count(*) AS n FROM insights WHERE week = ?1", week)).toBe(0);
  });

  it("builds a preview of the week in progress: served as the latest, rebuilt on each call, never sent", async () => {
    const first = await call("POST", "/v1/insights/generate", { key: admin, body: { week: thisWeek } });
    expect(first.status).toBe(201);
    const preview = await first.json<Digest>();
    expect(preview).toMatchObject({ week: thisWeek, complete: false, eventId: null });
    expect(preview.sections.map((s) => s.id)).toEqual(["tier-moves", "red-drivers", "expansion-ready", "impact", "adoption", "model-health"]);
    await new Promise((r) => setTimeout(r, 5));
    const second = await (await call("POST", "/v1/insights/generate", { key: admin, body: { week: thisWeek } })).json<Digest>();
    expect(second.generatedAt > preview.generatedAt).toBe(true);
    expect(await countOf("SELECT count(*) AS n FROM insights WHERE week = ?1", thisWeek)).toBe(1);
    expect(await countOf("SELECT count(*) AS n FROM events WHERE type = 'insights.weekly' AND json_extract(payload, '$.week') = ?1", thisWeek)).toBe(0);
    expect(await (await call("GET", "/v1/insights", { key: reader })).json<Digest>()).toEqual(second);
  });

  it("refuses a week that has not started, one too old for its events, or a malformed one, naming week; nothing is stored", async () => {
    const before = await countOf("SELECT count(*) AS n FROM insights");
    const next = isoWeekOf(addDays(mondayOf(today), 7));
    const old = isoWeekOf(addDays(mondayOf(today), -21));
    const cases: [unknown, RegExp][] = [
      [{ week: next }, /^starts on \d{4}-\d{2}-\d{2}, after today/],
      [{ week: old }, /more than RETENTION_EVENT_DAYS \(14\) days ago/],
      [{ week: "2026-W60" }, /not a real ISO week/],
      [{ week: "last week" }, /must be an ISO week/],
      [{ week: 49 }, /./],
    ];
    for (const [body, detail] of cases) {
      const res = await call("POST", "/v1/insights/generate", { key: admin, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.map((e) => e.field)).toEqual(["week"]);
      expect(problem.errors![0].detail).toMatch(detail);
    }
    expect(await countOf("SELECT count(*) AS n FROM insights")).toBe(before);
  });

  it("needs an admin key", async () => {
    const res = await call("POST", "/v1/insights/generate", { key: reader });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).status).toBe(403);
  });
});

describe("the OpenAPI document", () => {
  it("lists both routes with the digest's shape", async () => {
    const doc = await (await call("GET", "/openapi.json")).json<{ paths: Record<string, Record<string, { parameters?: { name: string; schema: { pattern?: string } }[] }>> }>();
    expect(Object.keys(doc.paths["/v1/insights"])).toEqual(["get"]);
    expect(Object.keys(doc.paths["/v1/insights/generate"])).toEqual(["post"]);
    expect(doc.paths["/v1/insights"].get.parameters?.find((p) => p.name === "week")?.schema.pattern).toBe("^\\d{4}-W\\d{2}$");
  });
});
