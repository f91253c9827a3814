/**
 * The README's "Insights" section prints the SQL the digest runs: every named query in
 * workers/insights/queries.ts appears there verbatim, with 2026-W49's parameters written in, so a
 * reader can reproduce each figure from D1 with the query named beside it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { NAMED_QUERIES, withLiterals } from "../../../workers/insights/queries";
import { weekRange } from "../../../workers/insights/weeks";

const readme = readFileSync(path.join(import.meta.dirname, "../../../README.md"), "utf8");
const insights = readme.slice(readme.indexOf("\n## Insights\n"), readme.indexOf("\n## ", readme.indexOf("\n## Insights\n") + 5));

describe("README, Insights", () => {
  it("prints every named query the digest runs, for the example week", () => {
    const week = weekRange("2026-W49")!;
    expect(insights.length).toBeGreaterThan(1000);
    for (const [name, statements] of Object.entries(NAMED_QUERIES)) {
      for (const sql of statements) {
        const params = name === "insights-model-health" ? [week.next] : [week.start, week.next];
        expect(insights, name).toContain(`-- ${name}\n${withLiterals(sql, params)};\n`);
      }
    }
  });

  it("names, beside each section, the query that reproduces it", () => {
    for (const name of [...Object.keys(NAMED_QUERIES), "insights-adoption", "impact"]) expect(insights).toContain(`\`${name}\``);
  });

  it("writes parameters in as SQL literals", () => {
    expect(withLiterals("SELECT ?1, ?2, ?1", ["a", "it's"])).toBe("SELECT 'a', 'it''s', 'a'");
  });
});
