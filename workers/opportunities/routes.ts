/** Opportunity sizing's route: the expansion pipeline. */
import type { RouteTable } from "../http/routes";
import { ListOpportunities } from "./opportunities";

export const opportunitiesRoutes: RouteTable = [["get", "/v1/opportunities", ListOpportunities, ["score", "ingest"]]];
