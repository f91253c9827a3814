/** Impact's routes: the uplift of playbooks measured against the randomized holdout. */
import type { RouteTable } from "../http/routes";
import { GetImpact } from "./impact";

export const impactRoutes: RouteTable = [["get", "/v1/impact", GetImpact, ["score", "ingest"]]];
