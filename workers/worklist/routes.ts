/** The worklist's routes: a CSM's week, and every owner's load against capacity. */
import type { RouteTable } from "../http/routes";
import { ListOwnerLoads, PutOwnerCapacity } from "./owners";
import { GetWorklist } from "./worklist";

export const worklistRoutes: RouteTable = [
  ["get", "/v1/worklist", GetWorklist, ["score", "ingest"]],
  ["get", "/v1/worklist/owners", ListOwnerLoads, ["score", "ingest"]],
  ["put", "/v1/worklist/owners/:owner", PutOwnerCapacity, ["admin"]],
];
