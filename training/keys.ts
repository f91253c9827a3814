/** Creating API keys in the local D1 from Node (the create-key CLI and `npm start`). */
import { API_SCOPES, apiKeys } from "../shared/db/schema";
import { db } from "../shared/db/write";
import { DEFAULT_RATE_LIMIT, generateKey, parseScopes } from "../shared/keys";

/** Creates a key in the local D1 and returns the secret.  */
export async function createLocalKey(env: Env, scopes: string, name: string | null, rateLimit = DEFAULT_RATE_LIMIT): Promise<string> {
  const k = await generateKey();
  await db(env.DB).insert(apiKeys).values({ id: k.id, keyHash: k.keyHash, prefix: k.prefix, name, scopes: parseScopes(scopes, API_SCOPES), rateLimit });
  return k.key;
}

