/** Monitoring's routes: a model version's accuracy and drift over time, and computing it now. */
import type { RouteTable } from "../http/routes";
import { ComputePerformance, GetPerformance } from "./performance";

export const monitoringRoutes: RouteTable = [
  ["get", "/v1/models/:version/performance", GetPerformance, ["score", "ingest"]],
  ["post", "/v1/models/:version/performance/compute", ComputePerformance, ["admin"]],
];
