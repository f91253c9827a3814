/** Interventions' routes: starting a playbook on an account, recording its steps and result, reading them. */
import type { RouteTable } from "../http/routes";
import { AccountInterventions, CreateIntervention, GetIntervention, PatchIntervention } from "./interventions";

export const interventionsRoutes: RouteTable = [
  ["post", "/v1/interventions", CreateIntervention, ["ingest"]],
  ["get", "/v1/interventions/:id", GetIntervention, ["score", "ingest"]],
  ["patch", "/v1/interventions/:id", PatchIntervention, ["ingest"]],
  ["get", "/v1/accounts/:id/interventions", AccountInterventions, ["score", "ingest"]],
];
