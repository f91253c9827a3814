/** Scoring's routes: one account or a batch, by signals or by stored account. */
import type { RouteTable } from "../http/routes";
import { ScoreBatchRoute, ScoreRoute } from "./score";

export const scoringRoutes: RouteTable = [
  ["post", "/v1/score", ScoreRoute, ["score"]],
  ["post", "/v1/score/batch", ScoreBatchRoute, ["score"]],
];
