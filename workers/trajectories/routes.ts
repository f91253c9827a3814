/** Trajectories' routes: an account's health forecast, trend and act-by date. */
import type { RouteTable } from "../http/routes";
import { AccountTrajectory } from "./account-trajectory";

export const trajectoriesRoutes: RouteTable = [["get", "/v1/accounts/:id/trajectory", AccountTrajectory, ["score", "ingest"]]];
