/**
 * The CRM export's routes. `/v1/exports/scores.csv` comes before `/v1/exports/:date`, which it would
 * also match; the signed-link check runs before the key check on `:date` (signed links carry no key).
 */
import type { RouteTable } from "../http/routes";
import { DownloadExport, ListExports, signedDownload, StartExport } from "./exports";
import { ExportScores } from "./scores";

export const exportsRoutes: RouteTable = [
  ["get", "/v1/exports/scores.csv", ExportScores, ["score", "ingest"]],
  ["get", "/v1/exports", ListExports, ["admin", "score"]],
  ["post", "/v1/exports", StartExport, ["admin"]],
  ["get", "/v1/exports/:date", DownloadExport, ["admin", "score"], signedDownload],
];
