/** `GET /v1/portfolio`: accounts and ARR per tier, ARR at risk, and the change since the previous rescoring. */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { completedRuns, type PortfolioFigures, portfolioFigures } from "../../shared/db/portfolio";
import { PORTFOLIO_TIERS } from "../../shared/tiers";
import type { AppEnv } from "../http/auth";
import { bearer, problems } from "../http/schemas";

const TierFigures = z.object({ accounts: z.number().int(), arr: z.number() });
const Tiers = z.object({ red: TierFigures, yellow: TierFigures, green: TierFigures, blue: TierFigures });

export const Portfolio = z.object({
  tiers: Tiers.describe("Accounts and ARR per tier, from each account's current score; blue = expansion-ready"),
  arrAtRisk: z.number().describe("Σ churn probability × ARR over scored accounts"),
  accounts: z.number().int(),
  arr: z.number(),
  unscored: TierFigures.describe("Accounts without a score yet"),
  asOf: z.string(),
  previous: z
    .object({ tiers: Tiers, arrAtRisk: z.number(), runId: z.string(), rescoredAt: z.string() })
    .nullable()
    .describe("The same figures at the end of the rescoring before the latest one; null until there have been two"),
  change: z
    .object({ tiers: Tiers, arrAtRisk: z.number() })
    .nullable()
    .describe("Current minus previous, per tier and for ARR at risk"),
  summary: z.string().describe('The red tier in a sentence, e.g. "12 accounts, $450K ARR in red, up from 8"'),
});

/** $450K, $1.2M, $800. */
export function money(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `$${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `$${Math.round(v / 1e3)}K`;
  return `$${Math.round(v)}`;
}

export function summarise(now: PortfolioFigures, before: PortfolioFigures | null): string {
  const red = now.tiers.red;
  const head = `${red.accounts} account${red.accounts === 1 ? "" : "s"}, ${money(red.arr)} ARR in red`;
  if (!before) return `${head} (no earlier rescoring to compare with)`;
  const was = before.tiers.red.accounts;
  const trend = red.accounts > was ? `up from ${was}` : red.accounts < was ? `down from ${was}` : `unchanged from ${was}`;
  return `${head}, ${trend}; ${money(now.arrAtRisk)} ARR at risk (was ${money(before.arrAtRisk)})`;
}

export class PortfolioRoute extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Portfolio"],
    summary: "Tiers, ARR at risk and the change since the previous rescoring",
    description:
      "Current figures are live: they follow every account's latest score. `previous` is the portfolio as recorded when the rescoring before the latest one finished, so right after a rescoring the change reads as what that rescoring moved.",
    security: bearer,
    responses: { "200": { description: "The portfolio", ...contentJson(Portfolio) }, ...problems(401, 403, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const [now, runs] = await Promise.all([portfolioFigures(c.env.DB), completedRuns(c.env.DB, 2)]);
    const prevRun = runs[1] ?? null;
    const before = prevRun?.portfolio ?? null;
    const change = before
      ? {
          tiers: Object.fromEntries(PORTFOLIO_TIERS.map((t) => [t, { accounts: now.tiers[t].accounts - before.tiers[t].accounts, arr: now.tiers[t].arr - before.tiers[t].arr }])) as z.infer<typeof Tiers>,
          arrAtRisk: now.arrAtRisk - before.arrAtRisk,
        }
      : null;
    return {
      ...now,
      asOf: new Date().toISOString(),
      previous: before && prevRun ? { tiers: before.tiers, arrAtRisk: before.arrAtRisk, runId: prevRun.id, rescoredAt: prevRun.finishedAt } : null,
      change,
      summary: summarise(now, before),
    };
  }
}
