/**
 * `npm run publish-model -- --model DIR [--local|--remote] [--activate]`
 * Stores DIR/model.json in R2 under models/{version}/ with its sha256 and registers the version
 * in D1 (candidate, or active with --activate). Refuses an artifact whose sha256 does not match
 * DIR/model.json.sha256; the active model is then left as it was.
 */
import { withLocalPlatform } from "../platform";
import { publishLocal, publishRemote } from "../registry";
import { parseFlags, runCli, UsageError } from "./args";

const spec = {
  model: { type: "string", required: true, description: "directory holding model.json (written by `npm run train`)" },
  activate: { type: "boolean", description: "make this version the active model (the previous one is retired)" },
  local: { type: "boolean", description: "publish to the local stack used by `npm start` (default)" },
  remote: { type: "boolean", description: "publish to the deployed R2 and D1 (needs `wrangler login`)" },
} as const;

await runCli("publish-model", spec, async () => {
  const flags = parseFlags(process.argv.slice(2), spec);
  if (flags.local && flags.remote) throw new UsageError("--remote", "choose --local or --remote, not both");
  const result = flags.remote ? await publishRemote(flags.model!, flags.activate) : await withLocalPlatform((env) => publishLocal(env, flags.model!, flags.activate));
  console.log(`${result.alreadyPublished ? "already published" : "published"} ${result.version} → r2://foresight-models/${result.r2Key}`);
  console.log(`sha256 ${result.sha256} (${result.sizeBytes} bytes), status ${result.status}${flags.remote ? " (remote)" : " (local)"}`);
});
