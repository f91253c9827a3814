/**
 * Publishing model directories written by `npm run train`: to the local stack through the
 * platform proxy, or to the deployed account through wrangler (--remote).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { artifactKey, publishArtifact, type PublishResult, registrationOf } from "../shared/db/registry";
import { sha256Hex } from "../shared/hash";
import { UsageError } from "./errors";
import { d1Remote, r2PutRemote } from "./remote";

/** Reads DIR/model.json and the sha256 recorded next to it by the trainer, if any. */
export function readModelDir(dir: string): { bytes: Uint8Array; file: string; expectedSha256?: string } {
  const file = path.join(dir, "model.json");
  if (!existsSync(file)) throw new UsageError("--model", `${file} does not exist; train one with npm run train -- --out ${dir}`);
  const shaFile = `${file}.sha256`;
  const expectedSha256 = existsSync(shaFile) ? readFileSync(shaFile, "utf8").trim().split(/\s+/)[0] : undefined;
  return { bytes: new Uint8Array(readFileSync(file)), file, expectedSha256 };
}

/**
 * Publishes a model directory to the local stack; an activation is recorded as made by
 * `activatedBy` (the CLI: `publish-model`, or `start` for the demo's first model).
 *
 * @example
 *   await publishLocal(env, "models/v2", true); // activated by publish-model
 */
export async function publishLocal(env: Env, dir: string, activate: boolean, activatedBy = "publish-model"): Promise<PublishResult> {
  const { bytes, expectedSha256 } = readModelDir(dir);
  return publishArtifact(env, bytes, { activate, expectedSha256, activatedBy });
}

export async function publishRemote(dir: string, activate: boolean): Promise<PublishResult> {
  const { bytes, file, expectedSha256 } = readModelDir(dir);
  const sha256 = await sha256Hex(bytes);
  if (expectedSha256 && expectedSha256 !== sha256) throw new Error(`artifact sha256 ${sha256} does not match ${file}.sha256 (${expectedSha256}); refusing to publish`);
  const a = registrationOf(JSON.parse(new TextDecoder().decode(bytes)));
  const key = artifactKey(a.version);
  await r2PutRemote(key, file);
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  let sql = `INSERT INTO models (version, target, family, r2_key, sha256, size_bytes, metrics, status) VALUES (${q(a.version)}, ${q(a.target)}, ${q(a.family)}, ${q(key)}, ${q(sha256)}, ${bytes.byteLength}, ${q(JSON.stringify(a.metrics))}, 'candidate') ON CONFLICT (version) DO NOTHING;`;
  if (activate) {
    // As activateVersion does locally: the activation is logged (with the version it replaces) before that one is retired.
    sql += ` INSERT INTO model_activations (version, target, previous_version, activated_by) SELECT ${q(a.version)}, ${q(a.target)}, (SELECT version FROM models WHERE target = ${q(a.target)} AND status = 'active' AND version <> ${q(a.version)} ORDER BY activated_at DESC LIMIT 1), 'publish-model' WHERE NOT EXISTS (SELECT 1 FROM models WHERE version = ${q(a.version)} AND status = 'active');`;
    sql += ` UPDATE models SET status = 'retired' WHERE target = ${q(a.target)} AND status = 'active' AND version <> ${q(a.version)}; UPDATE models SET status = 'active', activated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE version = ${q(a.version)} AND status <> 'active';`;
  }
  await d1Remote(sql);
  return { version: a.version, r2Key: key, sha256, sizeBytes: bytes.byteLength, status: activate ? "active" : "candidate", alreadyPublished: false };
}

