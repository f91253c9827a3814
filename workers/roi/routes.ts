/** ROI's route: impact and the forecast in one statement. */
import type { RouteTable } from "../http/routes";
import { GetRoi } from "./roi";

export const roiRoutes: RouteTable = [["get", "/v1/roi", GetRoi, ["score", "ingest"]]];
