/**
 * The shape of a concept's route table. Each concept (`workers/<concept>/routes.ts`) exports one;
 * `createApp()` mounts them all, so a new route in a concept touches that concept's folder only.
 */
import type { OpenAPIRoute } from "chanfana";
import type { Context, MiddlewareHandler } from "hono";
import type { ApiScope } from "../../shared/db/schema";
import type { AppEnv } from "./auth";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/** A chanfana endpoint class: one operation with its Zod schema and handler. */
export type Endpoint = typeof OpenAPIRoute<[Context<AppEnv>]>;

/**
 * One route: the method, the Hono path, the endpoint, the scopes a key needs (any one of them;
 * `admin` passes everywhere) and, optionally, middleware that runs before the key check (CORS
 * preflights, which carry no key).
 *
 * @example
 *   export const accountsRoutes: RouteTable = [["get", "/v1/accounts", ListAccounts, ["score", "ingest"]]];
 */
export type Route = readonly [method: Method, path: string, endpoint: Endpoint, scopes: readonly ApiScope[], before?: MiddlewareHandler<AppEnv>];

export type RouteTable = readonly Route[];
