/** Playbooks' routes: the playbooks (versioned CRUD) and an account's recommendation. */
import type { RouteTable } from "../http/routes";
import { CreatePlaybook, DeletePlaybook, GetPlaybook, GetPlaybookVersion, ListPlaybooks, PatchPlaybook, ReplacePlaybook } from "./playbooks";
import { AccountRecommendation } from "./recommendation";

export const playbooksRoutes: RouteTable = [
  ["get", "/v1/playbooks", ListPlaybooks, ["score", "ingest"]],
  ["post", "/v1/playbooks", CreatePlaybook, ["admin"]],
  ["get", "/v1/playbooks/:id/versions/:version", GetPlaybookVersion, ["admin"]],
  ["get", "/v1/playbooks/:id", GetPlaybook, ["admin"]],
  ["put", "/v1/playbooks/:id", ReplacePlaybook, ["admin"]],
  ["patch", "/v1/playbooks/:id", PatchPlaybook, ["admin"]],
  ["delete", "/v1/playbooks/:id", DeletePlaybook, ["admin"]],
  ["get", "/v1/accounts/:id/recommendation", AccountRecommendation, ["score", "ingest"]],
];
