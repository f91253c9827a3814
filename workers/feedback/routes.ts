/** Feedback's routes: CSMs' verdicts on scores, and how good those verdicts were once outcomes arrived. */
import type { RouteTable } from "../http/routes";
import { GetFeedbackAccuracy } from "./accuracy";
import { ListFeedback, PostFeedback } from "./feedback";

export const feedbackRoutes: RouteTable = [
  ["post", "/v1/accounts/:id/feedback", PostFeedback, ["score", "ingest"]],
  ["get", "/v1/accounts/:id/feedback", ListFeedback, ["score", "ingest"]],
  ["get", "/v1/feedback/accuracy", GetFeedbackAccuracy, ["score", "ingest"]],
];
