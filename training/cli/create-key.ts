/**
 * `npm run --silent create-key -- --scopes admin,score,ingest [--name NAME] [--rate-limit N]`
 * Creates an API key in local D1 (or remote with --remote) and prints it alone on the last line.
 */
import { API_SCOPES } from "../../shared/db/schema";
import { DEFAULT_RATE_LIMIT, generateKey, parseScopes } from "../../shared/keys";
import { createLocalKey } from "../keys";
import { withLocalPlatform } from "../platform";
import { parseFlags, runCli, UsageError } from "./args";
import { d1Remote } from "../remote";

const spec = {
  scopes: { type: "string", required: true, description: `comma-separated scopes: ${API_SCOPES.join(", ")}` },
  name: { type: "string", description: "a label to recognise the key by" },
  "rate-limit": { type: "string", description: `requests per second allowed (0 = unlimited; default ${DEFAULT_RATE_LIMIT})` },
  local: { type: "boolean", description: "store in the local D1 used by `npm start` (default)" },
  remote: { type: "boolean", description: "store in the deployed D1 (needs `wrangler login`)" },
} as const;

await runCli("create-key", spec, async () => {
  const flags = parseFlags(process.argv.slice(2), spec);
  let scopes;
  try {
    scopes = parseScopes(flags.scopes!, API_SCOPES);
  } catch (e) {
    throw new UsageError("--scopes", (e as Error).message);
  }
  const rateLimit = flags["rate-limit"] === undefined ? DEFAULT_RATE_LIMIT : Number(flags["rate-limit"]);
  if (!Number.isInteger(rateLimit) || rateLimit < 0) throw new UsageError("--rate-limit", "must be a whole number ≥ 0");
  if (flags.local && flags.remote) throw new UsageError("--remote", "choose --local or --remote, not both");
  if (flags.remote) {
    const k = await generateKey();
    await d1Remote(
      `INSERT INTO api_keys (id, key_hash, prefix, name, scopes, rate_limit) VALUES ('${k.id}', '${k.keyHash}', '${k.prefix}', ${flags.name ? `'${flags.name.replace(/'/g, "''")}'` : "NULL"}, '${JSON.stringify(scopes)}', ${rateLimit})`,
    );
    console.error(`created key ${k.prefix}… with scopes ${scopes.join(", ")} in the deployed D1; it is shown once:`);
    console.log(k.key);
    return;
  }
  const key = await withLocalPlatform((env) => createLocalKey(env, scopes.join(","), flags.name ?? null, rateLimit));
  console.error(`created key with scopes ${scopes.join(", ")}, rate limit ${rateLimit || "unlimited"}${rateLimit ? "/s" : ""}; it is shown once and stored only as a hash:`);
  console.log(key);
});
