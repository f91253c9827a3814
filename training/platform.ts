/**
 * Node-side access to the same local D1, R2 and Queues that `wrangler dev` serves, through
 * wrangler's platform proxy (persisted under .wrangler/state, shared with a running server).
 */
import path from "node:path";
import { getPlatformProxy } from "wrangler";

/**
 * Where the local stack keeps its data: wrangler's own default, or FORESIGHT_STATE_DIR (used by
 * the end-to-end tests to run a throwaway stack beside the developer's).
 */
export function localStateDir(): string {
  return path.resolve(process.env.FORESIGHT_STATE_DIR ?? ".wrangler/state");
}

export interface LocalPlatform {
  env: Env;
  dispose(): Promise<void>;
}

/** Opens the local stack; always `dispose()` it, or the process will not exit. */
export async function openLocalPlatform(): Promise<LocalPlatform> {
  // wrangler keeps its data under <state>/v3; the proxy takes that folder itself.
  const proxy = await getPlatformProxy<Env>({ persist: { path: path.join(localStateDir(), "v3") }, remoteBindings: false });
  return { env: proxy.env, dispose: proxy.dispose };
}

/** Runs `fn` with the local bindings and disposes them afterwards. */
export async function withLocalPlatform<T>(fn: (env: Env) => Promise<T>): Promise<T> {
  const platform = await openLocalPlatform();
  try {
    return await fn(platform.env);
  } finally {
    await platform.dispose();
  }
}
