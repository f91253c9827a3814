/**
 * The one SHA-256: lowercase hex of the digest, through WebCrypto, so the same function checks
 * API keys and model artifacts in the Worker and hashes data sets and artifacts in Node.
 *
 * @example
 *   await sha256Hex("hello"); // "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
 */
export async function sha256Hex(data: string | ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
