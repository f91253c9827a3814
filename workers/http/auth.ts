/**
 * Bearer-key authentication with scopes. Keys are looked up by their SHA-256 hash; a missing
 * or unknown key is 401, a key without the route's scope is 403. Lookups are cached per
 * isolate for a short time so the scoring hot path does not wait on D1 for every request.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { apiKeys, type ApiScope } from "../../shared/db/schema";
import { db } from "../../shared/db/write";
import { sha256Hex } from "../../shared/hash";
import { Problem } from "./problem";

export interface Principal {
  keyId: string;
  scopes: ApiScope[];
  rateLimit: number;
}

export type AppEnv = { Bindings: Env; Variables: { principal: Principal } };

/** How long a key lookup is trusted before D1 is asked again (a revoked key dies within this). */
const KEY_CACHE_MS = 30_000;
const cache = new Map<string, { principal: Principal | null; until: number }>();

async function lookup(env: Env, token: string): Promise<Principal | null> {
  const hash = await sha256Hex(token);
  const hit = cache.get(hash);
  if (hit && hit.until > Date.now()) return hit.principal;
  const row = await db(env.DB)
    .select({ id: apiKeys.id, scopes: apiKeys.scopes, rateLimit: apiKeys.rateLimit })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)))
    .get();
  const principal = row ? { keyId: row.id, scopes: row.scopes, rateLimit: row.rateLimit } : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(hash, { principal, until: Date.now() + KEY_CACHE_MS });
  return principal;
}

/**
 * Per-key token buckets: a key with limit N may make N requests in a burst and N per second
 * after that; 0 means unlimited. Buckets live in the isolate, so the limit holds per Cloudflare
 * location (each location enforces N on its own); the default is DEFAULT_RATE_LIMIT (50/s).
 */
const buckets = new Map<string, { tokens: number; at: number }>();

/** Takes one request from the key's bucket; returns the seconds to wait when it is empty. */
export function takeToken(keyId: string, limit: number, now = Date.now()): number {
  if (limit <= 0) return 0;
  let b = buckets.get(keyId);
  if (!b) {
    if (buckets.size > 10_000) buckets.clear();
    b = { tokens: limit, at: now };
    buckets.set(keyId, b);
  }
  b.tokens = Math.min(limit, b.tokens + ((now - b.at) / 1000) * limit);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return Math.max(1, Math.ceil((1 - b.tokens) / limit));
}

const unauthorized = (detail: string) =>
  new Problem(401, "unauthorized", detail, [{ field: "authorization", detail }], { "www-authenticate": 'Bearer realm="foresight"' });

/**
 * Requires `Authorization: Bearer <key>` holding one of `scopes` (`admin` passes everywhere).
 *
 * @example
 *   openapi.post("/v1/score", requireScope("score"), ScoreRoute);
 */
export function requireScope(...scopes: ApiScope[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("Send your API key as Authorization: Bearer <key>.");
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized("The Authorization header must be 'Bearer <key>'.");
    const principal = await lookup(c.env, match[1]);
    if (!principal) throw unauthorized("The API key is not valid or has been revoked.");
    if (!principal.scopes.includes("admin") && !scopes.some((s) => principal.scopes.includes(s))) {
      throw new Problem(403, "forbidden", `This key lacks the scope this route needs: ${scopes.join(" or ")}.`, [
        { field: "authorization", detail: `key has scopes ${principal.scopes.join(", ")}` },
      ]);
    }
    const wait = takeToken(principal.keyId, principal.rateLimit);
    if (wait > 0) {
      throw new Problem(429, "rate-limited", `This key is limited to ${principal.rateLimit} requests per second; retry after ${wait} s.`, [{ field: "authorization", detail: `rate limit ${principal.rateLimit}/s` }], {
        "retry-after": String(wait),
      });
    }
    c.set("principal", principal);
    return next();
  };
}
