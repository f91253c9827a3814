/**
 * The house rules issue 9 set, checked: no import cycle in workers/, shared/ or training/ (madge,
 * as the README's code map promises), nothing under shared/model/ reaching D1, R2, drizzle or
 * shared/db, and no hand-written source file over 400 lines.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import madge from "madge";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const GENERATED = new Set(["client/schema.d.ts", "worker-configuration.d.ts"]);

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (name === "node_modules" || name === "fixtures" || name === "data") return [];
    return statSync(path.join(root, rel)).isDirectory() ? sources(rel) : /\.(ts|js|py)$/.test(name) ? [rel] : [];
  });
}

describe("the house", () => {
  it("has no import cycle in workers/, shared/ or training/", async () => {
    const graph = await madge(["workers", "shared", "training"].map((d) => path.join(root, d)), { fileExtensions: ["ts"], baseDir: root });
    expect(graph.circular()).toEqual([]);
  }, 60_000);

  it("keeps shared/model/ pure: no D1, R2, drizzle or shared/db", () => {
    for (const file of sources("shared/model")) {
      const text = readFileSync(path.join(root, file), "utf8");
      expect(text, file).not.toMatch(/from "[^"]*(drizzle|\/db\/|cloudflare:)[^"]*"/);
      expect(text, file).not.toMatch(/\b(D1Database|R2Bucket)\b/);
    }
  });

  it("has no source file over 400 lines outside generated ones", () => {
    const long = ["workers", "shared", "training", "bench", "test", "client", "public"]
      .flatMap(sources)
      .filter((f) => !GENERATED.has(f))
      .map((f) => ({ f, lines: readFileSync(path.join(root, f), "utf8").split("\n").length }))
      .filter((x) => x.lines > 400);
    expect(long).toEqual([]);
  });
});
