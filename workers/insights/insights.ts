/**
 * `GET /v1/insights[?week=]`: the weekly insights digest, the latest or one week's;
 * `POST /v1/insights/generate`: build a week's digest now (what the weekly cron does). The building
 * lives in `digest.ts`.
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { addDays } from "../../shared/days";
import { today } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { invalid, Problem } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { retentionPolicy } from "../retention/policy";
import { buildDigest, storedDigest } from "./digest";
import { Digest, GenerateBody, InsightsQuery } from "./schemas";
import { isoWeekOf, weekJustEnded, weekRange } from "./weeks";

const SECTIONS_TEXT =
  "Sections, each `{id, title, query, text, ...figures}` where `query` names the README query that reproduces its figures from D1: `tier-moves` (accounts whose risk tier at the end of the week differs from its start, counts and ARR per from → to, at most 15 accounts listed per owner), `red-drivers` (the share of red ARR whose top risk-raising driver is each feature, against the previous stored digest), `expansion-ready` (accounts that turned blue in the week, at most 15 per owner), `impact` (the holdout's uplift over the 365 days to the week's end), `adoption` (as of the week's Sunday) and `model-health` (the active churn model's latest monitoring).";

export class GetInsights extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Insights"],
    summary: "The weekly insights digest: the latest, or one ISO week's",
    description: `The digest the weekly cron builds every Monday at 01:00 UTC for the ISO week that just ended (and sends as the \`insights.weekly\` webhook). ${SECTIONS_TEXT} A week with no stored digest is a 404.`,
    security: bearer,
    request: { query: InsightsQuery },
    responses: { "200": { description: "The digest", ...contentJson(Digest) }, ...problems(401, 403, 404, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const digest = await storedDigest(c.env, query.week);
    if (!digest) {
      throw new Problem(
        404,
        "insights-not-found",
        query.week
          ? `No digest for ${query.week}: the weekly cron builds the week that just ended every Monday at 01:00 UTC; POST /v1/insights/generate builds one now.`
          : "No digest yet: the weekly cron builds one every Monday at 01:00 UTC; POST /v1/insights/generate builds one now.",
        query.week ? [{ field: "query.week", detail: "no digest stored for this week" }] : [],
      );
    }
    return digest;
  }
}

export class GenerateInsights extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Insights"],
    summary: "Build a week's insights digest now",
    description: `Builds the digest of \`week\` (default: the ISO week that just ended) from D1 and stores it: 201. A week that has ended gets its final digest, sent once as the \`insights.weekly\` webhook; asking again returns the stored one unchanged (200), as the cron does. The week in progress gets a preview: stored and served, never sent, rebuilt on each call until the week ends. A week that has not started, or whose tier-change events retention has already removed (it began more than RETENTION_EVENT_DAYS ago) and that has no final digest, is a 422 naming \`week\`. ${SECTIONS_TEXT}`,
    security: bearer,
    request: { body: { ...contentJson(GenerateBody), required: false } },
    responses: {
      "200": { description: "The week's final digest, already stored (nothing was built or sent)", ...contentJson(Digest) },
      "201": { description: "Built and stored (and, for a week that has ended, sent)", ...contentJson(Digest) },
      ...problems(400, 401, 403, 413, 415, 422, 429),
    },
  };

  override async handle(c: Context<AppEnv>) {
    const { body } = await this.getValidatedData<typeof this.schema>();
    const now = new Date();
    const week = body?.week ?? weekJustEnded(now);
    const range = weekRange(week)!;
    const stored = await storedDigest(c.env, week);
    if (stored?.complete) return c.json(stored, 200);
    const day = today(now);
    if (range.start > day) throw invalid(`${week} has not started yet.`, [{ field: "week", detail: `starts on ${range.start}, after today (${day})` }]);
    const { eventDays } = retentionPolicy(c.env as unknown as Record<string, unknown>);
    const oldest = addDays(day, -eventDays);
    if (range.start < oldest) {
      const current = isoWeekOf(day);
      throw invalid(`${week} is too old to build: its events have left D1. The weekly cron builds each week on the Monday after it; {"week": "${current}"} builds a preview of this week.`, [
        { field: "week", detail: `began on ${range.start}, more than RETENTION_EVENT_DAYS (${eventDays}) days ago, so its tier-change events are no longer in D1` },
      ]);
    }
    const { digest, built } = await buildDigest(c.env, week, now);
    return c.json(digest, built ? 201 : 200);
  }
}
