/**
 * The key and publishing CLIs against a throwaway local stack (real local D1 and R2 through
 * wrangler), exactly as a user runs them with npm.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/hash";
import { openLocalPlatform, type LocalPlatform } from "../../training/platform";

const root = path.resolve(import.meta.dirname, "../..");
const fixture = path.join(root, "test/fixtures/telco-model");
let state: string;
let platform: LocalPlatform;

function npm(args: string[]) {
  return spawnSync("npm", ["run", "--silent", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORESIGHT_STATE_DIR: state } });
}

beforeAll(() => {
  state = mkdtempSync(path.join(tmpdir(), "foresight-cli-"));
  process.env.FORESIGHT_STATE_DIR = state;
  execFileSync(path.join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
});

afterAll(async () => {
  await platform?.dispose();
});

describe("create-key", () => {
  it("prints the new key alone on its last line and stores only its hash", async () => {
    const run = npm(["create-key", "--", "--scopes", "admin,score,ingest"]);
    expect(run.status).toBe(0);
    const key = run.stdout.trim().split("\n").at(-1)!;
    expect(key).toMatch(/^fs_[A-Za-z0-9]+_[A-Za-z0-9]{32}$/);
    platform = await openLocalPlatform();
    const rows = await platform.env.DB.prepare("SELECT key_hash, scopes, rate_limit FROM api_keys").all<{ key_hash: string; scopes: string; rate_limit: number }>();
    expect(rows.results).toEqual([{ key_hash: await sha256Hex(key), scopes: '["admin","score","ingest"]', rate_limit: 50 }]);
    expect(JSON.stringify(rows.results)).not.toContain(key);
    await platform.dispose();
    platform = undefined as never;
  });

  it("sets the key's rate limit with --rate-limit (0 = unlimited) and refuses a negative one", async () => {
    const run = npm(["create-key", "--", "--scopes", "score", "--rate-limit", "0", "--name", "load test"]);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("rate limit unlimited");
    const key = run.stdout.trim().split("\n").at(-1)!;
    platform = await openLocalPlatform();
    const row = await platform.env.DB.prepare("SELECT rate_limit, name FROM api_keys WHERE key_hash = ?1").bind(await sha256Hex(key)).first();
    expect(row).toEqual({ rate_limit: 0, name: "load test" });
    await platform.dispose();
    platform = undefined as never;
    const bad = npm(["create-key", "--", "--scopes", "score", "--rate-limit", "-5"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--rate-limit");
  });

  it("refuses an unknown scope, naming the flag", () => {
    const run = npm(["create-key", "--", "--scopes", "score,superuser"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("--scopes");
    expect(run.stderr).toContain("superuser");
  });
});

describe("publish-model", () => {
  it("stores the artifact in R2 under models/{version}/, registers it, and refuses a tampered one", async () => {
    const ok = npm(["publish-model", "--", "--model", fixture, "--local", "--activate"]);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    const artifact = JSON.parse(readFileSync(path.join(fixture, "model.json"), "utf8"));
    expect(ok.stdout).toContain(`models/${artifact.version}/model.json`);

    // Same version directory, bytes changed after training: the recorded sha256 no longer matches.
    const tampered = mkdtempSync(path.join(tmpdir(), "foresight-tampered-"));
    cpSync(fixture, tampered, { recursive: true });
    const changed = { ...artifact, version: `${artifact.version}-x`, model: { ...artifact.model, intercept: artifact.model.intercept + 3 } };
    writeFileSync(path.join(tampered, "model.json"), JSON.stringify(changed));
    const refused = npm(["publish-model", "--", "--model", tampered, "--activate"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("does not match");

    platform = await openLocalPlatform();
    const models = await platform.env.DB.prepare("SELECT version, status, sha256 FROM models").all();
    expect(models.results).toEqual([{ version: artifact.version, status: "active", sha256: await sha256Hex(readFileSync(path.join(fixture, "model.json"))) }]);
    const object = await platform.env.MODELS.get(`models/${artifact.version}/model.json`);
    expect(await object?.text()).toBe(readFileSync(path.join(fixture, "model.json"), "utf8"));
    expect(await platform.env.MODELS.get(`models/${changed.version}/model.json`)).toBeNull();
  });
});
