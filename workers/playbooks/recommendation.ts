/**
 * What to do about an account now: the playbook that fits its tier and top driver, when to start
 * (`actBy`, from its trajectory with the playbook's lead days), the steps with due dates, and the
 * outreach email drafted from the playbook's template with the account's own figures; or, for the
 * control group of the randomized holdout, nothing but the fact that it is held out and until when.
 * An account in a playbook tier with no assignment that bears on today is assigned here (lazily).
 */
import { contentJson, OpenAPIRoute } from "chanfana";
import type { Context } from "hono";
import { z } from "zod";
import { addDays, daysBetween } from "../../shared/days";
import { healthOf } from "../../shared/cs/trajectory";
import { type accounts, scores } from "../../shared/db/schema";
import { fromSql } from "../../shared/db/rows";
import type { PortfolioTier, RiskTier } from "../../shared/tiers";
import { loadAccount, notFound } from "../accounts/store";
import { countUse } from "../adoption/usage";
import type { AppEnv } from "../http/auth";
import { Problem } from "../http/problem";
import { AccountId, bearer, problems } from "../http/schemas";
import { trajectoryNow } from "../trajectories/current";
import { leadDays } from "../trajectories/trajectory";
import { assignmentsOf, assignmentStatements, heldUntil, holdoutConfig, holdoutSalt, liveControl, type NewAssignment, newAssignment, type Standing, standing, type StoredAssignment } from "./holdout";
import { type DriverFacts, isPlaybookTier, leadDaysWith, type Match, matchPlaybook } from "./policy";
import { Recommendation } from "./schemas";
import { currentPlaybooks, type PlaybookRow } from "./store";
import { driverInWords, money, renderTemplate, type TemplateValues } from "./templates";

type AccountRow = typeof accounts.$inferSelect;
type ScoreRow = typeof scores.$inferSelect;

/** Up to this many risk-raising drivers are worded in a draft. */
const DRAFT_DRIVERS = 3;

/** The latest scores of the accounts, by account id. */
async function latestScores(d1: D1Database, ids: number[]): Promise<Map<string, ScoreRow>> {
  if (ids.length === 0) return new Map();
  const { results } = await d1.prepare("SELECT * FROM scores WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(ids)).all<Record<string, unknown>>();
  const out = new Map<string, ScoreRow>();
  for (const r of results) {
    const s = fromSql(scores, r)!;
    out.set(s.accountId, s);
  }
  return out;
}

/** Each account's signals about a month ago: its snapshot nearest to 30 days back, from 21 to 45 days back. */
async function signalsAMonthAgo(d1: D1Database, ids: string[], today: string): Promise<Map<string, Record<string, unknown>>> {
  if (ids.length === 0) return new Map();
  const { results } = await d1
    .prepare(
      `SELECT j.value AS account_id, (SELECT s.features FROM signal_snapshots s WHERE s.account_id = j.value AND s.as_of BETWEEN ?2 AND ?3
         ORDER BY abs(julianday(s.as_of) - julianday(?4)) LIMIT 1) AS features FROM json_each(?1) j`,
    )
    .bind(JSON.stringify(ids), addDays(today, -45), addDays(today, -21), addDays(today, -30))
    .all<{ account_id: string; features: string | null }>();
  return new Map(results.filter((r) => r.features !== null).map((r) => [r.account_id, JSON.parse(r.features!) as Record<string, unknown>]));
}

/** The risk-raising drivers, strongest first, with their phrase in plain words (compared with a month ago). */
function wordedDrivers(drivers: readonly DriverFacts[], earlier: Record<string, unknown> | undefined): DriverFacts[] {
  return drivers
    .filter((d) => d.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .map((d) => ({ ...d, phrase: driverInWords(d, earlier?.[d.feature]) }));
}

function holdoutView(a: StoredAssignment): Recommendation["holdout"] {
  return { arm: a.arm, tier: a.tier, period: a.period, assignedAt: a.assignedAt, until: heldUntil(a) };
}

function heldOut(account: AccountRow, tier: PortfolioTier, a: StoredAssignment): Recommendation {
  const who = account.name ?? account.id;
  return {
    accountId: account.id,
    tier,
    playbook: null,
    actBy: null,
    reasons: [
      `held out: ${who} is in the control group of the randomized holdout since ${a.assignedAt.slice(0, 10)} (it entered ${a.tier} in ${a.period}); no playbook is shown until ${heldUntil(a)}, so that the playbooks' effect can be measured against accounts like it`,
    ],
    steps: [],
    draft: null,
    controlGroup: true,
    holdout: holdoutView(a),
  };
}

/** The values a template is rendered with, from the account, its score, the playbook and the plan. */
function templateValues(account: AccountRow, score: ScoreRow, tier: PortfolioTier, worded: DriverFacts[], playbook: PlaybookRow, actBy: string | null, steps: Recommendation["steps"], today: string): TemplateValues {
  const top = worded.slice(0, DRAFT_DRIVERS).map((d) => d.phrase!);
  return {
    name: account.name,
    id: account.id,
    owner: account.owner,
    arr: money(account.arr),
    renewalDate: account.renewalDate,
    daysToRenewal: account.renewalDate ? daysBetween(today, account.renewalDate) : null,
    health: score.health ?? healthOf(score.churnProbability),
    churnRisk: `${Math.round(score.churnProbability * 100)}%`,
    tier,
    topDriver: top[0] ?? null,
    drivers: top.length ? top.map((t) => `- ${t}`).join("\n") : null,
    actBy,
    playbook: playbook.name,
    steps: steps.map((s) => `- ${s.title} (by ${s.dueDate})`).join("\n"),
    today,
    signals: account.features,
  };
}

interface Prepared {
  account: AccountRow;
  score: ScoreRow;
  tier: PortfolioTier;
  worded: DriverFacts[];
  match: Match<PlaybookRow>;
}

/**
 * Recommendations for many accounts at once (the worklist calls this), each exactly what
 * `GET /v1/accounts/{id}/recommendation` answers: playbooks, scores, snapshots and assignments are
 * read once for all of them, and the accounts that need a holdout assignment get it in one batch.
 * An account never scored gets `playbook: null` with the reason (the route answers 409 instead).
 * Does not count a view (the caller does, with `countUse`).
 *
 * @example
 *   const [rec] = await recommendationsFor(env, [await loadAccount(env, "ACME-1")], "2026-12-01");
 */
export async function recommendationsFor(env: Env, rows: readonly AccountRow[], today = new Date().toISOString().slice(0, 10)): Promise<Recommendation[]> {
  const ids = rows.map((r) => r.id);
  const [playbooks, latest, earlier, stored] = await Promise.all([
    currentPlaybooks(env),
    latestScores(env.DB, rows.flatMap((r) => (r.scoreId === null ? [] : [r.scoreId]))),
    signalsAMonthAgo(env.DB, ids, today),
    assignmentsOf(env.DB, ids, today),
  ]);
  const prepared = new Map<string, Prepared>();
  for (const account of rows) {
    const score = latest.get(account.id);
    if (!score) continue;
    const tier = (score.tier ?? score.riskTier) as PortfolioTier;
    const worded = wordedDrivers(score.drivers as DriverFacts[], earlier.get(account.id));
    prepared.set(account.id, { account, score, tier, worded, match: matchPlaybook(playbooks, tier, worded) });
  }

  // Lazy assignment: an account in a playbook tier with nothing that bears on today is assigned now.
  const fresh: NewAssignment[] = [];
  const config = holdoutConfig(env);
  let salt: string | undefined;
  // Now, or noon of the day asked about when that is not today (the period is its month either way).
  const assignedAt = today === new Date().toISOString().slice(0, 10) ? new Date().toISOString() : `${today}T12:00:00.000Z`;
  const standings = new Map<string, Standing>();
  for (const p of prepared.values()) {
    const list = stored.get(p.account.id) ?? [];
    const control = liveControl(list, today);
    const s: Standing = isPlaybookTier(p.tier) ? standing(list, p.tier, today) : control ? { state: "held-out", assignment: control } : { state: "unassigned" };
    if (s.state === "unassigned" && p.match.playbook && isPlaybookTier(p.tier)) {
      salt ??= await holdoutSalt(env);
      fresh.push(
        await newAssignment(
          salt,
          config,
          { accountId: p.account.id, tier: p.tier, playbookId: p.match.playbook.id, playbookVersion: p.match.playbook.version, owner: p.account.owner, arr: p.account.arr, churnProbability: p.score.churnProbability, scoreId: p.score.id },
          assignedAt,
        ),
      );
    } else standings.set(p.account.id, s);
  }
  if (fresh.length) {
    await env.DB.batch(assignmentStatements(env.DB, fresh));
    // The stored rows are the truth: another isolate may have assigned some of them first.
    const now = await assignmentsOf(env.DB, fresh.map((a) => a.accountId), today);
    for (const a of fresh) standings.set(a.accountId, standing(now.get(a.accountId) ?? [], a.tier, today));
  }

  const base = leadDays(env);
  return Promise.all(
    rows.map(async (account): Promise<Recommendation> => {
      const p = prepared.get(account.id);
      if (!p) {
        return { accountId: account.id, tier: null, playbook: null, actBy: null, reasons: ["not scored yet: score it (POST /v1/score with its accountId) or wait for the next rescoring"], steps: [], draft: null, controlGroup: false, holdout: null };
      }
      const s = standings.get(account.id) ?? { state: "unassigned" };
      if (s.state === "held-out") return heldOut(account, p.tier, s.assignment);
      const current = { p: p.score.churnProbability, riskTier: p.score.riskTier as RiskTier, tier: p.tier, scoredAt: p.score.scoredAt, drivers: p.worded };
      const trajectory = await trajectoryNow(env, account, current, leadDaysWith(base, p.match), today);
      const when = trajectory.actBy ? `act by ${trajectory.actBy}: ${trajectory.reasons[0]}` : `nothing is due yet: ${trajectory.reasons[0]}`;
      const playbook = p.match.playbook;
      if (!playbook) return { accountId: account.id, tier: p.tier, playbook: null, actBy: trajectory.actBy, reasons: [...p.match.reasons, when], steps: [], draft: null, controlGroup: false, holdout: null };
      const steps = playbook.steps.map((st) => ({ title: st.title, dueDate: addDays(today, st.dueDays) }));
      const values = templateValues(account, p.score, p.tier, p.worded, playbook, trajectory.actBy, steps, today);
      const assignment = s.state === "assigned" ? s.assignment : null;
      return {
        accountId: account.id,
        tier: p.tier,
        playbook: { id: playbook.id, version: playbook.version, name: playbook.name, tier: playbook.tier, driver: playbook.driver },
        actBy: trajectory.actBy,
        reasons: [...p.match.reasons, when],
        steps,
        draft: { subject: renderTemplate(playbook.template.subject, values), body: renderTemplate(playbook.template.body, values) },
        controlGroup: false,
        holdout: assignment ? holdoutView(assignment) : null,
      };
    }),
  );
}

/** One account's recommendation (see `recommendationsFor`). */
export async function recommendationFor(env: Env, account: AccountRow, today?: string): Promise<Recommendation> {
  return (await recommendationsFor(env, [account], today))[0];
}

export class AccountRecommendation extends OpenAPIRoute<[Context<AppEnv>]> {
  override schema = {
    tags: ["Playbooks"],
    summary: "What to do about an account now: its playbook, steps, act-by date and outreach draft",
    description:
      "The most specific current playbook for the account's portfolio tier and the top driver of its latest score (tier and driver over tier alone), with `reasons` in words, `actBy` from its trajectory with the playbook's lead days, the steps due from today, and `draft`, the outreach email rendered from the playbook's template with the account's own name, owner, figures and top drivers (compared with its signals about 30 days earlier). Green accounts get `playbook: null` with the reason. Accounts in the control group of the randomized holdout get `controlGroup: true`, no playbook, steps or draft, and the day the hold-out ends. An account in a playbook tier without an assignment is assigned on this first look. 409 when the account was never scored. Each view counts towards its owner's adoption.",
    security: bearer,
    request: { params: z.object({ id: AccountId }) },
    responses: { "200": { description: "The recommendation", ...contentJson(Recommendation) }, ...problems(401, 403, 404, 409, 422, 429) },
  };

  override async handle(c: Context<AppEnv>) {
    const { params } = await this.getValidatedData<typeof this.schema>();
    const account = await loadAccount(c.env, params.id);
    if (!account) throw notFound(params.id, "id");
    if (account.scoreId === null) {
      throw new Problem(409, "not-scored", `Account '${params.id}' has no score yet: score it (POST /v1/score with {"accountId": "${params.id}"}) or wait for the next rescoring.`, [{ field: "id", detail: "never scored" }]);
    }
    const recommendation = await recommendationFor(c.env, account);
    await countUse(c.env, account.owner, "recommendation");
    return recommendation;
  }
}
