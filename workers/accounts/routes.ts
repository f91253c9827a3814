/** Accounts' routes: the portfolio, the worklist, accounts and their signals, history, expansion banner and outcomes. */
import type { RouteTable } from "../http/routes";
import { BatchAccounts, GetAccount, PatchAccount, PutAccount } from "./accounts";
import { AccountScores } from "./account-scores";
import { AccountExpansion, bannerCors } from "./expansion";
import { ListAccounts } from "./list-accounts";
import { RecordOutcomes } from "./outcomes";
import { PortfolioRoute } from "./portfolio";

export const accountsRoutes: RouteTable = [
  ["get", "/v1/portfolio", PortfolioRoute, ["score", "ingest"]],
  ["get", "/v1/accounts", ListAccounts, ["score", "ingest"]],
  ["post", "/v1/accounts/batch", BatchAccounts, ["ingest"]],
  ["get", "/v1/accounts/:id/scores", AccountScores, ["score", "ingest"]],
  // Browsers call the banner route cross-origin; its preflight is answered before any key check.
  ["get", "/v1/accounts/:id/expansion", AccountExpansion, ["banner", "score"], bannerCors()],
  ["put", "/v1/accounts/:id", PutAccount, ["ingest"]],
  ["patch", "/v1/accounts/:id", PatchAccount, ["ingest"]],
  ["get", "/v1/accounts/:id", GetAccount, ["score", "ingest"]],
  ["post", "/v1/outcomes", RecordOutcomes, ["ingest"]],
];
