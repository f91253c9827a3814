/**
 * The Worker bundle as `wrangler deploy` would upload it (`--dry-run --outdir`): its size raw and
 * gzipped, and whether any tfjs found its way in (the Worker must not carry it).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, WRANGLER } from "./processes";

/** The bundle's figures. */
export interface Bundle {
  rawBytes: number;
  gzipBytes: number;
  files: string[];
  tfjs: string[];
  /** wrangler's own "Total Upload" line. */
  wranglerReport: string | null;
}

/** Bundles the Worker into a temporary directory and measures it. */
export function bundle(): Bundle {
  const out = mkdtempSync(path.join(os.tmpdir(), "foresight-bundle-"));
  try {
    const r = spawnSync(WRANGLER, ["deploy", "--dry-run", "--outdir", out], { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "true" } });
    if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}\n${r.stderr}`);
    const files = readdirSync(out, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.(m?js)$/.test(e.name))
      .map((e) => path.join(e.parentPath, e.name));
    let rawBytes = 0;
    let gzipBytes = 0;
    const tfjs = new Set<string>();
    for (const f of files) {
      const bytes = readFileSync(f);
      rawBytes += bytes.byteLength;
      gzipBytes += gzipSync(bytes).byteLength;
      for (const m of bytes.toString("utf8").matchAll(/@tensorflow\/[a-z0-9-]+|tfjs-[a-z0-9-]+/g)) tfjs.add(m[0]);
    }
    const report = /Total Upload: ([^\n]+)/.exec(`${r.stdout}\n${r.stderr}`);
    return { rawBytes, gzipBytes, files: files.map((f) => path.relative(out, f)), tfjs: [...tfjs], wranglerReport: report ? report[1].trim() : null };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
