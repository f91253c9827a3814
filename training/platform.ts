/**
 * Node-side access to the same local D1, R2 and Queues that `wrangler dev` serves, through
 * wrangler's platform proxy (persisted under .wrangler/state, shared with a running server).
 */
import { getPlatformProxy } from "wrangler";

export interface LocalPlatform {
  env: Env;
  dispose(): Promise<void>;
}

/** Opens the local stack; always `dispose()` it, or the process will not exit. */
export async function openLocalPlatform(): Promise<LocalPlatform> {
  const proxy = await getPlatformProxy<Env>({ persist: true, remoteBindings: false });
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
