/**
 * The README's CRM export mapping table is the one in `workers/exports/columns.ts`: every column
 * with its Salesforce and HubSpot field names and types, in file order, so the documented names
 * are the ones `?mapping=` writes.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { EXPORT_COLUMNS } from "../../../workers/exports/columns";

const readme = readFileSync(path.resolve(import.meta.dirname, "../../../README.md"), "utf8");

describe("README, CRM export", () => {
  it("documents every column with the Salesforce and HubSpot names and types the mapping uses", () => {
    const section = readme.slice(readme.indexOf("## CRM export"), readme.indexOf("\n## ", readme.indexOf("## CRM export") + 5));
    const rows = section
      .split("\n")
      .filter((l) => /^\| `[a-z_0-9]+` \|/.test(l))
      .map((l) => l.split(" | ").map((c) => c.replace(/^\| /, "").replace(/ \|$/, "").replace(/`/g, "")))
      .filter((cells) => cells.length === 6);
    expect(rows.map(([name, , sf, sfType, hs, hsType]) => ({ name, sf, sfType, hs, hsType }))).toEqual(
      EXPORT_COLUMNS.map((c) => ({ name: c.name, sf: c.salesforce.field, sfType: c.salesforce.type.split(":")[0], hs: c.hubspot.field, hsType: c.hubspot.type.split(":")[0] })),
    );
  });
});
