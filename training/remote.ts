/**
 * Writes to the deployed Cloudflare account through the wrangler CLI (`--remote`), for the
 * CLIs' --remote flag. Needs `wrangler login`; the local stack never goes through here.
 */
import { execFileSync } from "node:child_process";

function wrangler(args: string[]): string {
  return execFileSync("npx", ["wrangler", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

export async function d1Remote(sql: string): Promise<string> {
  return wrangler(["d1", "execute", "DB", "--remote", "--command", sql, "--json"]);
}

export async function r2PutRemote(key: string, file: string): Promise<void> {
  wrangler(["r2", "object", "put", `foresight-models/${key}`, "--file", file, "--content-type", "application/json", "--remote"]);
}
