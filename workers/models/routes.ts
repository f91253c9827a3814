/** The model registry's routes: versions, activation, the evolution log, shadow models and their comparison. */
import type { RouteTable } from "../http/routes";
import { ModelChangelog } from "./changelog";
import { ActivateModel, ListModels } from "./models";
import { ModelComparison, SetShadow, StopShadow } from "./shadow";

export const modelsRoutes: RouteTable = [
  ["get", "/v1/models", ListModels, ["score", "ingest"]],
  ["post", "/v1/models/:version/activate", ActivateModel, ["admin"]],
  ["get", "/v1/models/:version/changelog", ModelChangelog, ["score", "ingest"]],
  ["post", "/v1/models/:version/shadow", SetShadow, ["admin"]],
  ["delete", "/v1/models/:version/shadow", StopShadow, ["admin"]],
  ["get", "/v1/models/:version/comparison", ModelComparison, ["score", "ingest"]],
];
