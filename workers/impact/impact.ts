/**
 * `GET /v1/impact`: the measured impact of playbooks against the randomized holdout over a
 * period of assignments. Validation here; the computation is `impactReport` (report.ts).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { addDays } from "../../shared/days";
import { today } from "../../shared/db/write";
import type { AppEnv } from "../http/auth";
import { invalid } from "../http/problem";
import { bearer, problems } from "../http/schemas";
import { impactReport } from "./report";
import { Impact, ImpactQueryParams } from "./schemas";

/** Default span of `from` before `to`. */
export const DEFAULT_PERIOD_DAYS = 365;

export class GetImpact extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "Measured impact of playbooks against the holdout",
    description:
      "Over the accounts assigned to the treated arm or the control group from `from` to `to` whose outcome window has closed (assignedAt + windowDays ≤ today): per arm the accounts, churns (a `churned` outcome within the window), churn rate and ARR at assignment; the uplift (control − treated churn rate) with its 95% interval, the relative improvement and ARR protected with theirs; red → yellow/green transitions within 30, 60 and 90 days; the accounts needed to detect the effect; the same per playbook and per owner. With fewer than 10 accounts or no churn in an arm the estimates are null and `reasons` says why. See README \"Impact\" for the method and the SQL.",
    security: bearer,
    request: { query: ImpactQueryParams },
    responses: { "200": { description: "The impact report", ...contentJson(Impact) }, ...problems(401, 403, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { query } = await this.getValidatedData<typeof this.schema>();
    const to = query.to ?? today();
    const from = query.from ?? addDays(to, -DEFAULT_PERIOD_DAYS);
    // from only defaults to 365 days before to, so only a given from can be after to.
    if (from > to) throw invalid(`from (${from}) is after to (${to}).`, [{ field: "query.from", detail: `must not be after to (${to}${query.to ? "" : ", today"})` }]);
    if (query.playbook) {
      const known = await c.env.DB.prepare("SELECT EXISTS (SELECT 1 FROM playbooks WHERE id = ?1) OR EXISTS (SELECT 1 FROM holdout_assignments WHERE playbook_id = ?1) AS known")
        .bind(query.playbook)
        .first<{ known: number }>();
      if (!known?.known) throw invalid(`No playbook '${query.playbook}'.`, [{ field: "query.playbook", detail: `no playbook '${query.playbook}' (GET /v1/playbooks lists them)` }]);
    }
    return impactReport(c.env, { from, to, playbook: query.playbook ?? null });
  }
}
