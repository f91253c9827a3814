/**
 * The write step of training: an artifact as `model.json` text (pretty JSON, one trailing
 * newline) and its checksum, written with a `model.json.sha256` beside it when there is a
 * directory to write to.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../../shared/hash";
import type { ModelArtifact } from "../../shared/model/artifact";

/** An artifact's exact model.json text, where it went (null: nowhere) and its sha256. */
export interface Written {
  json: string;
  path: string | null;
  sha256: string;
}

/**
 * Serialises `artifact` and writes it into `out` when given; the JSON and its sha256 either way.
 *
 * @example
 *   const { json, path, sha256 } = await write(artifact, "models/m1"); // path: "models/m1/model.json"
 */
export async function write(artifact: ModelArtifact, out: string | null | undefined): Promise<Written> {
  const json = artifactJson(artifact);
  if (out) return { json, ...(await writeArtifactJson(out, json)) };
  return { json, path: null, sha256: await sha256Hex(json) };
}

/**
 * Writes `model.json` and `model.json.sha256` (in `sha256sum` format, so
 * `sha256sum -c model.json.sha256` verifies it) into `dir`, creating it if needed.
 *
 * @example
 *   const { path, sha256 } = await writeArtifactJson("models/m1", json);
 */
export async function writeArtifactJson(dir: string, json: string): Promise<{ path: string; sha256: string }> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "model.json");
  const sha256 = await sha256Hex(json);
  writeFileSync(path, json);
  writeFileSync(`${path}.sha256`, `${sha256}  model.json\n`);
  return { path, sha256 };
}

/**
 * Writes an artifact object as pretty JSON with its checksum file; see `writeArtifactJson`.
 *
 * @example
 *   await writeArtifact("models/xgb", await importXgboost(json));
 */
export function writeArtifact(dir: string, artifact: ModelArtifact): Promise<{ path: string; sha256: string }> {
  return writeArtifactJson(dir, artifactJson(artifact));
}

function artifactJson(artifact: ModelArtifact): string {
  return `${JSON.stringify(artifact, null, 2)}\n`;
}
