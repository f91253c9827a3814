/**
 * API keys: random secrets shown once, stored only as SHA-256 hashes. WebCrypto only, so the
 * same code runs in the Worker (to check a key) and in Node (to create one).
 */
import type { ApiScope } from "./db/schema";
import { sha256Hex } from "./hash";

/** Default per-key limit, in requests per second, when `--rate-limit` is not given. */
export const DEFAULT_RATE_LIMIT = 50;

function base62(bytes: Uint8Array): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let out = "";
  // 62 does not divide 256, so drop bytes that would bias the draw.
  for (const b of bytes) if (b < 248) out += alphabet[b % 62];
  return out;
}

export interface NewKey {
  /** The secret, shown once: `fs_<id>_<secret>`. */
  key: string;
  id: string;
  keyHash: string;
  prefix: string;
}

/** Makes a new key and the hash to store. The id is public (it appears in logs). */
export async function generateKey(): Promise<NewKey> {
  const id = base62(crypto.getRandomValues(new Uint8Array(16))).slice(0, 10);
  const secret = base62(crypto.getRandomValues(new Uint8Array(48))).slice(0, 32);
  const key = `fs_${id}_${secret}`;
  return { key, id, keyHash: await sha256Hex(key), prefix: `fs_${id}` };
}

export function parseScopes(text: string, allowed: readonly ApiScope[]): ApiScope[] {
  const scopes = text.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = scopes.filter((s) => !allowed.includes(s as ApiScope));
  if (bad.length) throw new Error(`unknown scope(s) ${bad.join(", ")}; choose from ${allowed.join(", ")}`);
  if (!scopes.length) throw new Error(`no scopes given; choose from ${allowed.join(", ")}`);
  return [...new Set(scopes)] as ApiScope[];
}
