/**
 * Signed, expiring download links for a day's export: `/v1/exports/{day}?expires=…&sig=…`, where
 * `expires` is a Unix time in seconds and `sig` the base64url HMAC-SHA256 of `export:{day}:{expires}`.
 * They work without an API key, so a CRM's import job can fetch the file; anything else about the
 * request (who asks, from where) is not part of the signature.
 *
 * The key is the secret EXPORT_LINK_SECRET (`npx wrangler secret put EXPORT_LINK_SECRET`). Without
 * it, the Worker generates a random key once and keeps it in `settings` (EXPORT_LINK_SETTING), as
 * it keeps the holdout's salt, so links work locally and on a fresh installation with no setup.
 * Changing the secret (or deleting that row) invalidates every link issued before.
 */
import { eq } from "drizzle-orm";
import { base64ToBytes, bytesToBase64 } from "../../shared/base64";
import { settings } from "../../shared/db/schema";
import { db } from "../../shared/db/write";

/** The `settings` key of the generated signing key, used when the secret is not set. */
export const EXPORT_LINK_SETTING = "exports.link_secret";

/** EXPORT_LINK_TTL_SECONDS when the var is missing: 7 days. */
const DEFAULT_TTL_SECONDS = 7 * 86_400;

/** A link as events and `GET /v1/exports` give it. */
export interface ExportLink {
  /** The path with its query: always there. */
  path: string;
  /** `PUBLIC_URL` + path, or null when PUBLIC_URL is empty. */
  url: string | null;
  expiresAt: string;
}

// EXPORT_LINK_SECRET is a secret, not a var: `wrangler types` only sees it when a .dev.vars holds it,
// so it is read as an optional string here rather than declared in the generated Env.
type WithSecret = Env & { EXPORT_LINK_SECRET?: string };

/** The signing key's text: the secret, else the installation's generated key (created on first use). */
async function signingSecret(env: Env): Promise<string> {
  const secret = (env as WithSecret).EXPORT_LINK_SECRET;
  if (secret) return secret;
  const d = db(env.DB);
  const fresh = bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
  const [, rows] = await d.batch([
    d.insert(settings).values({ key: EXPORT_LINK_SETTING, value: fresh }).onConflictDoNothing(),
    d.select({ value: settings.value }).from(settings).where(eq(settings.key, EXPORT_LINK_SETTING)),
  ]);
  return String(rows[0].value);
}

/** The HMAC key links are signed with: get it once per request or job, then sign or verify with it. */
export async function linkKey(env: Env): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", new TextEncoder().encode(await signingSecret(env)), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

const message = (day: string, expires: number) => new TextEncoder().encode(`export:${day}:${expires}`);
const toBase64Url = (bytes: Uint8Array) => bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** The link's lifetime in seconds (EXPORT_LINK_TTL_SECONDS); a value that is not a positive whole number throws, naming the var. */
export function linkTtlSeconds(env: Pick<Env, "EXPORT_LINK_TTL_SECONDS">): number {
  const raw = env.EXPORT_LINK_TTL_SECONDS as string | undefined;
  const ttl = raw === undefined || raw === "" ? DEFAULT_TTL_SECONDS : Number(raw);
  if (!Number.isInteger(ttl) || ttl < 1) throw new Error(`EXPORT_LINK_TTL_SECONDS must be a whole number of seconds above 0, got '${raw}'`);
  return ttl;
}

/**
 * The signature for a day and an expiry (Unix seconds).
 *
 * @example
 *   await signExport(await linkKey(env), "2026-12-01", 1796000000); // "q3V0…" (43 characters of base64url)
 */
export async function signExport(key: CryptoKey, day: string, expires: number): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, message(day, expires))));
}

/** Whether `sig` signs (day, expires); compared in constant time by WebCrypto's verify. */
export async function verifyExport(key: CryptoKey, day: string, expires: number, sig: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
  return crypto.subtle.verify("HMAC", key, base64ToBytes(sig.replace(/-/g, "+").replace(/_/g, "/")), message(day, expires));
}

/**
 * A fresh link to a day's export, valid for EXPORT_LINK_TTL_SECONDS from `now`.
 *
 * @example
 *   await exportLink(env, await linkKey(env), "2026-12-01"); // { path: "/v1/exports/2026-12-01?expires=…&sig=…", url: null, expiresAt: "2026-12-08T…" }
 */
export async function exportLink(env: Env, key: CryptoKey, day: string, now = new Date()): Promise<ExportLink> {
  const expires = Math.floor(now.getTime() / 1000) + linkTtlSeconds(env);
  const path = `/v1/exports/${day}?expires=${expires}&sig=${await signExport(key, day, expires)}`;
  const base = String(env.PUBLIC_URL ?? "").replace(/\/+$/, "");
  return { path, url: base ? `${base}${path}` : null, expiresAt: new Date(expires * 1000).toISOString() };
}
