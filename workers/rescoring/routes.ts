/** Rescoring's routes: start a run over every account, and follow it. */
import type { RouteTable } from "../http/routes";
import { GetRescore, StartRescore } from "./runs";

export const rescoringRoutes: RouteTable = [
  ["post", "/v1/rescore", StartRescore, ["admin"]],
  ["get", "/v1/rescore/:runId", GetRescore, ["admin", "score"]],
];
