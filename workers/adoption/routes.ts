/** Adoption's route: who uses predictive insights, per owner per workday. */
import type { RouteTable } from "../http/routes";
import { GetAdoption } from "./adoption";

export const adoptionRoutes: RouteTable = [["get", "/v1/adoption", GetAdoption, ["score", "ingest"]]];
