/**
 * Keeps BENCHMARKS.md as a set of sections, one per benchmark command, each replaced in place
 * between HTML comment markers so that running one benchmark leaves the others' figures alone.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const HEADER = "# Benchmarks\n\nFigures measured on this machine kind by the `npm run bench*` commands; each section is rewritten by the command named in its heading. Performance is measured here, never asserted in tests.\n";

/** Replaces (or appends) the section `name` of the Markdown file at `path`. */
export function replaceSection(path: string, name: string, heading: string, body: string): void {
  const text = existsSync(path) ? readFileSync(path, "utf8") : HEADER;
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${heading}\n\n${body.trim()}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}
