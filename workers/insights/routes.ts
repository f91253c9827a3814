/** Insights' routes: the weekly digest, and building one now. */
import type { RouteTable } from "../http/routes";
import { GenerateInsights, GetInsights } from "./insights";

export const insightsRoutes: RouteTable = [
  ["get", "/v1/insights", GetInsights, ["score", "ingest"]],
  ["post", "/v1/insights/generate", GenerateInsights, ["admin"]],
];
