/** `GET /v1/roi`: impact so far and the forecast, joined into one statement for the quarter (policy.ts). */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { addDays } from "../../shared/days";
import { today as todayOf } from "../../shared/db/write";
import { money } from "../accounts/portfolio";
import { forecast } from "../forecast/report";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";
import { impactReport } from "../impact/report";
import { holdoutConfig } from "../playbooks/holdout";
import { projectRoi, TARGET_ANNUAL_PROTECTION } from "./policy";

const Interval = z.object({ estimate: z.number().nullable(), ci95: z.tuple([z.number(), z.number()]).nullable() });

export const Roi = z.object({
  asOf: z.string(),
  quarter: z.object({ start: z.string(), end: z.string() }),
  protectedSoFar: Interval.describe("ARR protected over the last 365 days of closed assignments: `GET /v1/impact`'s arrProtected"),
  relativeImprovement: Interval.describe("Measured churn cut among treated accounts (impact)"),
  churnedArrYear: z.object({ expected: z.number(), p90: z.tuple([z.number(), z.number()]) }).describe("Expected churned ARR over the next 4 quarters, from the forecast, with the year's 90% interval (the sum of the quarters' bounds: wider than the year's own)"),
  projectedYear: Interval.describe("relativeImprovement × churnedArrYear × (1 − holdout share): ARR playbooks would protect in the next year, with the improvement's interval"),
  target: z.object({
    annual: z.number().describe("The brief's annual revenue protection, $2.5M unless ?target="),
    requiredRelativeImprovement: z.number().nullable().describe("The churn cut that would protect the target at this portfolio's forecast churn"),
    requiredPortfolioArr: z.number().nullable().describe("Portfolio ARR at which the measured improvement would protect the target (same churn share); null without a positive measured improvement"),
    reachedAtMeasured: z.boolean().nullable(),
  }),
  holdoutShare: z.number(),
  portfolioArr: z.number(),
  statement: z.string().describe("The quarter's ROI in one paragraph, claiming only what the intervals support"),
});

export class GetRoi extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Forecast"],
    summary: "ARR protected so far, projected for the year, and what the $2.5M target would need",
    description:
      "Joins `GET /v1/impact` (measured uplift and ARR protected over the last 365 days, with intervals) and `GET /v1/forecast` (expected churned ARR over the next 4 quarters): projected protection = relative improvement × next year's churned ARR × (1 − holdout share), with the improvement's interval; and, for the target (default $2.5M a year), the improvement it would need here and the portfolio ARR at which the measured improvement would reach it.",
    security: bearer,
    request: { query: z.object({ target: z.coerce.number().positive().max(1e12).optional().describe("Annual protection to aim for, default 2500000") }) },
    responses: { "200": { description: "The ROI statement", ...contentJson(Roi) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const today = todayOf();
    const [impact, ahead] = await Promise.all([impactReport(c.env, { from: addDays(today, -365), to: today }), forecast(c.env, 4, null)]);
    const share = holdoutConfig(c.env).share;
    const churnedArrYear = {
      expected: ahead.quarters.reduce((s, q) => s + q.churnedArr.expected, 0),
      p90: [ahead.quarters.reduce((s, q) => s + q.churnedArr.p90[0], 0), ahead.quarters.reduce((s, q) => s + q.churnedArr.p90[1], 0)] as [number, number],
    };
    const target = query.target ?? TARGET_ANNUAL_PROTECTION;
    const r = { estimate: impact.relativeImprovement.estimate, ci95: impact.relativeImprovement.ci95 as [number, number] | null };
    const { projectedYear, target: t } = projectRoi({ relativeImprovement: r, churnedArrYear, portfolioArr: ahead.method.arr, holdoutShare: share, target });
    const so = impact.arrProtected;
    const sure = (i: { estimate: number | null; ci95: [number, number] | null }) => i.estimate !== null && i.ci95 !== null && i.ci95[0] > 0;
    const parts = [
      sure(so)
        ? `Playbooks protected ${money(so.estimate!)} of ARR in the last year (95% CI ${money(so.ci95![0])} to ${money(so.ci95![1])}).`
        : `ARR protected so far is not yet distinguishable from zero (${impact.summary})`,
      sure(projectedYear)
        ? `At the forecast's ${money(churnedArrYear.expected)} of churned ARR in the next year, they would protect ${money(projectedYear.estimate!)} (95% CI ${money(projectedYear.ci95![0])} to ${money(projectedYear.ci95![1])}).`
        : `The forecast expects ${money(churnedArrYear.expected)} of churned ARR in the next year; what playbooks would save of it cannot be stated until the measured improvement's interval excludes zero.`,
      t.requiredRelativeImprovement !== null
        ? `Protecting ${money(target)} a year here would need churn among treated accounts cut by ${(100 * t.requiredRelativeImprovement).toFixed(0)}%${t.requiredRelativeImprovement > 1 ? " (more than all of it: this portfolio is too small for the target)" : ""}${t.requiredPortfolioArr !== null ? `, or a portfolio of about ${money(t.requiredPortfolioArr)} ARR at the measured ${(100 * r.estimate!).toFixed(0)}%` : ""}.`
        : `No churn is forecast, so no protection target can be sized.`,
    ];
    return {
      asOf: today,
      quarter: { start: ahead.quarters[0].start, end: ahead.quarters[0].end },
      protectedSoFar: { estimate: so.estimate, ci95: so.ci95 },
      relativeImprovement: r,
      churnedArrYear,
      projectedYear,
      target: t,
      holdoutShare: share,
      portfolioArr: ahead.method.arr,
      statement: parts.join(" "),
    };
  }
}
