/**
 * `GET /v1/exports/scores.csv` on real D1, with accounts ingested and scored through the API: names
 * with commas, quotes, line breaks and non-ASCII letters survive a strict RFC 4180 parse and the
 * JSON Lines; every column matches what the API shows for the account; the Salesforce and HubSpot
 * mappings rename the columns and nothing else; 2,500 accounts come out once each across page
 * boundaries, also while accounts are rescored mid-walk; the playbook column agrees with the
 * recommendation route and is blank for the holdout's control group; bad input is a 422.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { parseCsv } from "../../../shared/csv";
import { columnNames, EXPORT_COLUMNS } from "../../../workers/exports/columns";
import { PAGE } from "../../../workers/exports/rows";
import type { Recommendation } from "../../../workers/playbooks/schemas";
import { call, createKey, loyalCustomer, problemOf, publishTelcoModel, riskyCustomer } from "../helpers";
import { csvObjects, ingestAndScore, rawText } from "./export-helpers";

const TRICKY = [
  { id: "EXQ-01", name: "Acme, Inc.", owner: "Doe, Jane" },
  { id: "EXQ-02", name: 'The "Best" Co', owner: 'Sam "the CSM" Lee' },
  { id: "EXQ-03", name: "Line one\nLine two", owner: "ana@cs.example" },
  { id: "EXQ-04", name: "Carriage\r\nReturn Ltd", owner: "ana@cs.example" },
  { id: "EXQ-05", name: '"Quoted", with, commas\nand "a" line', owner: "ana@cs.example" },
  { id: "EXQ-06", name: "Café Zürich ☕ 東京", owner: "Zoë" },
  { id: "EXQ-07", name: '=HYPERLINK("http://x")', owner: "ana@cs.example" },
  { id: "EXQ-08", name: "  padded  ", owner: "ana@cs.example" },
  { id: "EXQ-09", owner: "ana@cs.example" },
  { id: "EXQ-10", name: "Plain Co", owner: "ana@cs.example" },
];
const yellowCustomer = { ...riskyCustomer, tenure: 12, TotalCharges: 1100 };
const featuresOf = (i: number) => [riskyCustomer, loyalCustomer, yellowCustomer][i % 3];
const PAGED = Array.from({ length: 2500 }, (_, i) => `EXP-${String(i).padStart(4, "0")}`);

let key: string;

async function exportText(query = ""): Promise<string> {
  const res = await call("GET", `/v1/exports/scores.csv${query}`, { key });
  expect(res.status).toBe(200);
  return rawText(res);
}

interface AccountView {
  id: string;
  name: string | null;
  owner: string | null;
  arr: number | null;
  score: { churnProbability: number; health: number; tier: string; drivers: { phrase: string }[]; modelVersion: string; scoredAt: string; expansion: { expansionReady: boolean; expansionProbability: number } | null };
}

beforeAll(async () => {
  await publishTelcoModel();
  key = await createKey(["score", "ingest"]);
  await ingestAndScore(
    key,
    TRICKY.map((a, i) => ({ ...a, arr: 1000 * (i + 1) + 0.5, features: featuresOf(i) })),
  );
  await ingestAndScore(
    key,
    PAGED.map((id, i) => ({ id, name: `Paged ${i}`, arr: 100 + i, features: featuresOf(i) })),
  );
  // Never scored: no row.
  expect((await call("PUT", "/v1/accounts/EXU-1", { key, body: { name: "Unscored", features: loyalCustomer } })).status).toBe(200);
}, 120_000);

describe("GET /v1/exports/scores.csv", () => {
  it("is RFC 4180 CSV with a BOM, a header and every account's current score as the API shows it", async () => {
    const res = await call("GET", "/v1/exports/scores.csv", { key });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="foresight-scores-\d{4}-\d{2}-\d{2}\.csv"$/);
    const text = await rawText(res);
    expect(text.startsWith("\ufeffid,name,owner,arr,churn_probability,")).toBe(true);
    const { header, rows } = csvObjects(text.slice(1));
    expect(header).toEqual(columnNames());
    // A spreadsheet-style reader (shared/csv.ts, BOM and all) reads the same records.
    expect(parseCsv(text).rows.length).toBe(rows.length);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const a of TRICKY) {
      const row = byId.get(a.id)!;
      const api = await (await call("GET", `/v1/accounts/${a.id}`, { key })).json<AccountView>();
      const s = api.score;
      expect(row.name).toBe(a.name ?? "");
      expect(row.owner).toBe(a.owner);
      expect(Number(row.arr)).toBe(api.arr);
      expect(Number(row.churn_probability)).toBe(Math.round(s.churnProbability * 10_000) / 10_000);
      expect(row.tier).toBe(s.tier);
      expect(Number(row.health)).toBe(s.health);
      expect([row.driver_1, row.driver_2, row.driver_3]).toEqual(s.drivers.slice(0, 3).map((d) => d.phrase));
      expect(row.expansion_ready).toBe(String(s.expansion!.expansionReady));
      expect(Number(row.expansion_probability)).toBe(Math.round(s.expansion!.expansionProbability * 10_000) / 10_000);
      expect(row.model_version).toBe(s.modelVersion);
      expect(row.scored_at).toBe(s.scoredAt);
    }
    // Quoting as a spreadsheet expects it, byte for byte.
    expect(text).toContain(`,"Acme, Inc.","Doe, Jane",`);
    expect(text).toContain(`,"The ""Best"" Co","Sam ""the CSM"" Lee",`);
    expect(text).toContain(`,"Line one\nLine two",`);
    expect(text).toContain(`,"Carriage\r\nReturn Ltd",`);
    expect(text).toContain(`,Café Zürich ☕ 東京,Zoë,`);
    expect(byId.get("EXQ-07")!.name).toBe('=HYPERLINK("http://x")');
    expect(byId.has("EXU-1")).toBe(false);
  });

  it("gives the same rows as JSON Lines, typed, without a BOM", async () => {
    const csv = csvObjects((await exportText()).slice(1)).rows;
    const res = await call("GET", "/v1/exports/scores.csv?format=jsonl", { key });
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    const text = await rawText(res);
    expect(text.charCodeAt(0)).toBe("{".charCodeAt(0));
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe(csv.length);
    const five = lines.find((l) => l.id === "EXQ-05")!;
    expect(five.name).toBe('"Quoted", with, commas\nand "a" line');
    expect(typeof five.churn_probability).toBe("number");
    expect(typeof five.expansion_ready).toBe("boolean");
    expect(lines.find((l) => l.id === "EXQ-09")!.name).toBeNull();
    lines.forEach((line, i) => {
      expect(Object.keys(line)).toEqual(columnNames());
      // Every value reads as the CSV's cell: null as blank, the rest as written.
      for (const name of columnNames()) expect(line[name] === null ? "" : String(line[name])).toBe(csv[i][name]);
    });
  });

  it("renames the columns to Salesforce's and HubSpot's custom fields and changes nothing else", async () => {
    const plain = csvObjects((await exportText()).slice(1));
    for (const mapping of ["salesforce", "hubspot"] as const) {
      const mapped = csvObjects((await exportText(`?mapping=${mapping}`)).slice(1));
      expect(mapped.header).toEqual(EXPORT_COLUMNS.map((c) => c[mapping].field));
      expect(mapped.rows.map((r) => Object.values(r))).toEqual(plain.rows.map((r) => Object.values(r)));
    }
    const sf = csvObjects((await exportText("?mapping=salesforce")).slice(1)).header;
    expect(sf).toContain("Foresight_Churn_Probability__c");
    expect(sf.slice(0, 2)).toEqual(["Foresight_Account_Id__c", "Name"]);
    expect(sf.every((f) => f === "Name" || /^Foresight_[A-Za-z0-9_]+__c$/.test(f))).toBe(true);
    const hubspot = await call("GET", "/v1/exports/scores.csv?format=jsonl&mapping=hubspot", { key });
    const first = JSON.parse((await rawText(hubspot)).split("\n")[0]) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(EXPORT_COLUMNS.map((c) => c.hubspot.field));
    expect(first).toHaveProperty("foresight_churn_probability");
  });

  it("leaves the BOM out with bom=false", async () => {
    const text = await exportText("?bom=false");
    expect(text.startsWith("id,name,")).toBe(true);
  });

  it("walks 2,500 accounts page by page with no duplicate and no gap, also while accounts are rescored", async () => {
    expect(PAGE).toBe(1000);
    const scored = (await env.DB.prepare("SELECT id FROM accounts WHERE score_id IS NOT NULL ORDER BY id").all<{ id: string }>()).results.map((r) => r.id);
    const ids = csvObjects((await exportText()).slice(1)).rows.map((r) => r.id);
    expect(ids).toEqual(scored);
    expect(ids.filter((id) => id.startsWith("EXP-"))).toEqual(PAGED);

    // Read the header and the first page, rescore an account already read and one still ahead, read the rest.
    const res = await call("GET", "/v1/exports/scores.csv?bom=false", { key });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (let chunk = 0; chunk < 2; chunk++) text += decoder.decode((await reader.read()).value, { stream: true });
    const rescored = await call("POST", "/v1/score/batch", { key, body: { rows: [{ accountId: "EXP-0001" }, { accountId: "EXP-2400" }] } });
    expect(rescored.status).toBe(200);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(csvObjects(text).rows.map((r) => r.id)).toEqual(scored);
  }, 60_000);

  it("names the playbook the recommendation route gives, and none for the holdout's control group", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const red = csvObjects((await exportText()).slice(1)).rows.filter((r) => r.id.startsWith("EXQ-") && r.tier === "red");
    expect(red.length).toBeGreaterThan(1);
    // The first red account is held out: a live control assignment, as rescoring would have recorded it.
    const held = red[0].id;
    await env.DB.prepare(
      `INSERT INTO holdout_assignments (account_id, tier, period, arm, playbook_id, playbook_version, churn_probability, window_days, assigned_at)
       VALUES (?1, 'red', ?2, 'control', 'red-rescue', 1, 0.8, 90, ?3)`,
    )
      .bind(held, today.slice(0, 7), `${today}T00:00:00.000Z`)
      .run();
    // The export first (it records nothing), then each account's recommendation (which may assign it).
    const rows = csvObjects((await exportText()).slice(1)).rows.filter((r) => r.id.startsWith("EXQ-"));
    const withPlaybook = rows.filter((r) => r.playbook_id !== "");
    expect(withPlaybook.length).toBeGreaterThan(0);
    for (const row of rows) {
      const rec = await (await call("GET", `/v1/accounts/${row.id}/recommendation`, { key })).json<Recommendation>();
      expect(row.playbook_id, row.id).toBe(rec.playbook?.id ?? "");
      expect(row.playbook_name, row.id).toBe(rec.playbook?.name ?? "");
      if (row.id === held) expect(rec.controlGroup).toBe(true);
    }
    expect(rows.find((r) => r.id === held)!.playbook_id).toBe("");
    // After the recommendations recorded their assignments, the export still says the same.
    expect(csvObjects((await exportText()).slice(1)).rows.filter((r) => r.id.startsWith("EXQ-"))).toEqual(rows);
  });

  it("refuses an unknown format, mapping or bom with a 422 naming the field, and needs a score or ingest key", async () => {
    for (const [query, field] of [
      ["format=xml", "query.format"],
      ["mapping=zoho", "query.mapping"],
      ["bom=yes", "query.bom"],
    ] as const) {
      const res = await call("GET", `/v1/exports/scores.csv?${query}`, { key });
      expect(res.status, query).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual([field]);
    }
    expect((await call("GET", "/v1/exports/scores.csv")).status).toBe(401);
    expect((await call("GET", "/v1/exports/scores.csv", { key: await createKey(["banner"]) })).status).toBe(403);
    expect((await call("GET", "/v1/exports/scores.csv", { key: await createKey(["ingest"]) })).status).toBe(200);
  });
});
