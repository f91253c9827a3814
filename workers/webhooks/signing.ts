/**
 * Signing secrets and signatures, the Standard Webhooks way: a secret is `whsec_` + base64 of
 * random bytes; a signature is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`.
 */
import { base64ToBytes, bytesToBase64 } from "../../shared/base64";

export const SECRET_PREFIX = "whsec_";

/** A new signing secret: `whsec_` + base64 of 24 random bytes. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${bytesToBase64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

/** How secrets are shown after creation: the prefix and four characters. */
export function maskSecret(secret: string): string {
  return `${secret.slice(0, SECRET_PREFIX.length + 4)}…`;
}

/** `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the secret's base64 part decoded. */
export async function sign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", base64ToBytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${bytesToBase64(new Uint8Array(mac))}`;
}
