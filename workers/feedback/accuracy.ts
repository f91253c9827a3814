/**
 * `GET /v1/feedback/accuracy?from=&to=&horizonDays=`: part of monitoring. Over the verdicts given
 * in the period, once their outcomes are known: how often CSMs who disagreed were right, and the
 * Brier score of the model, of the CSMs' stated tiers and of a blend (rules in `policy.ts`).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { addDays } from "../../shared/days";
import type { SqlPick } from "../../shared/db/rows";
import type { feedback, outcomes } from "../../shared/db/schema";
import { today } from "../../shared/db/write";
import { DEFAULT_HORIZON_DAYS } from "../../shared/model/artifact";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { bearer, IsoDate, problems } from "../http/schemas";
import type { OutcomeRow } from "../monitoring/policy";
import { activeScorer } from "../scoring/model-cache";
import { feedbackAccuracy } from "./policy";
import { FeedbackAccuracy } from "./schemas";

/** The period when `from` is not given: the year up to `to`. */
const DEFAULT_PERIOD_DAYS = 365;

type FeedbackSqlRow = SqlPick<typeof feedback, "id" | "account_id" | "score_id" | "created_at" | "churn_probability" | "risk_tier" | "verdict" | "expected_tier">;

export class GetFeedbackAccuracy extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Feedback"],
    summary: "How often CSMs who disagreed were right, and the Brier score of the model, the CSMs and a blend",
    description:
      "Over the verdicts given from `from` to `to` (default the last 365 days), keeping the latest per account and score. A verdict is evaluable once `horizonDays` (default: the active churn model's horizon, else 90) have passed since it, or earlier if its account churned within them; its label is 1 when the account churned in that window. A disagreeing CSM was right when the outcome sided with their expectedTier over the model's tier: a riskier tier and a churn, or a safer tier and no churn. Brier scores compare the model's probability, the CSM's tier read as the mean model probability of that tier, and their mean. Below 30 evaluable verdicts (10 disagreements for the right rate) the figures are null and `notes` says why.",
    security: bearer,
    request: {
      query: z.object({
        from: IsoDate.optional().describe("First day (YYYY-MM-DD) on which verdicts count; default 365 days before `to`"),
        to: IsoDate.optional().describe("Last day; default today"),
        horizonDays: z.coerce.number().int().min(1).max(730).optional().describe("Days after a verdict in which a churn counts; default the active churn model's horizon, else 90"),
      }),
    },
    responses: { "200": { description: "The report", ...contentJson(FeedbackAccuracy) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const now = new Date();
    const to = query.to ?? today(now);
    const from = query.from ?? addDays(to, -DEFAULT_PERIOD_DAYS);
    if (from > to) throw invalid("The period ends before it starts.", [{ field: "query.from", detail: `must be on or before to (${to})` }]);
    let horizonDays = query.horizonDays;
    let horizonSource: "query" | "model" | "default" = "query";
    if (horizonDays === undefined) {
      const horizon = (await activeScorer(c.env))?.artifact.horizonDays;
      horizonDays = horizon ?? DEFAULT_HORIZON_DAYS;
      horizonSource = horizon === undefined ? "default" : "model";
    }
    // Verdicts are stamped with a time; a day's verdicts are those before the next day begins.
    const end = addDays(to, 1);
    const [rows, outcomeRows] = await c.env.DB.batch([
      c.env.DB.prepare(
        "SELECT id, account_id, score_id, created_at, churn_probability, risk_tier, verdict, expected_tier FROM feedback WHERE created_at >= ?1 AND created_at < ?2 ORDER BY id",
      ).bind(from, end),
      c.env.DB.prepare(
        "SELECT account_id, type, date FROM outcomes WHERE account_id IN (SELECT DISTINCT account_id FROM feedback WHERE created_at >= ?1 AND created_at < ?2)",
      ).bind(from, end),
    ]);
    const byAccount = new Map<string, OutcomeRow[]>();
    for (const o of outcomeRows.results as SqlPick<typeof outcomes, "account_id" | "type" | "date">[]) {
      const list = byAccount.get(o.account_id) ?? [];
      list.push({ type: o.type, date: o.date });
      byAccount.set(o.account_id, list);
    }
    const verdicts = (rows.results as FeedbackSqlRow[]).map((r) => ({
      id: r.id,
      accountId: r.account_id,
      scoreId: r.score_id,
      createdAt: r.created_at,
      churnProbability: r.churn_probability,
      riskTier: r.risk_tier,
      verdict: r.verdict,
      expectedTier: r.expected_tier,
    }));
    return { from, to, horizonSource, ...feedbackAccuracy(verdicts, byAccount, horizonDays, now) };
  }
}
