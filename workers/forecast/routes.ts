/** The revenue forecast's routes: quarters ahead with intervals, and what-if scenarios. */
import type { RouteTable } from "../http/routes";
import { ForecastScenarios, GetForecast } from "./forecast";

export const forecastRoutes: RouteTable = [
  ["get", "/v1/forecast", GetForecast, ["score", "ingest"]],
  ["post", "/v1/forecast/scenarios", ForecastScenarios, ["score", "ingest"]],
];
