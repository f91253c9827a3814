/**
 * The SaaS demo's CS history in the local D1 (simulated, not real): the holdout's salt under the
 * Worker's `settings` key, the default playbooks (version 1, as the Worker writes them), every
 * holdout assignment, the interventions of the treated ones, the last weeks' `owner_usage`, and,
 * once the demo's churn model has scored the history, each assignment's churn probability at
 * entry and the CSMs' feedback on past scores. Every write is idempotent: loading again gives the
 * same rows.
 */
import { assess, type ActiveModels } from "../../shared/cs/assess";
import { SALT_KEY } from "../../shared/cs/holdout";
import { playbooks, settings } from "../../shared/db/schema";
import { db, jsonChunks, runBatch } from "../../shared/db/write";
import { riskTier } from "../../shared/model/artifact";
import type { RawValue } from "../../shared/model/features";
import type { RiskTier } from "../../shared/tiers";
import { DEFAULT_PLAYBOOKS } from "../../shared/cs/default-playbooks";
import { runD1Batches } from "../seed";
import { generateSaasPortfolio, type SaasPortfolio } from "./saas";

export interface LoadedPlaybookCounts {
  assignments: number;
  control: number;
  interventions: number;
  usage: number;
}

/** Plain D1 statements inserting `rows` through one JSON parameter per chunk (`sql` reads `value` of json_each(?1)). */
function bulk(d1: D1Database, rows: unknown[], sql: string): D1PreparedStatement[] {
  return jsonChunks(rows).map((json) => d1.prepare(sql).bind(json));
}

/**
 * Writes the salt, the default playbooks, the assignments (churn probability still null), the
 * interventions and the usage. Assignments and interventions keep any row already there (ON
 * CONFLICT DO NOTHING, as the Worker records them), so a second load changes nothing.
 *
 * @example
 *   await loadSaasPlaybooks(env.DB, generateSaasPortfolio());
 */
export async function loadSaasPlaybooks(d1: D1Database, p: SaasPortfolio): Promise<LoadedPlaybookCounts> {
  const d = db(d1);
  // The demo owns its salt: the Worker's later draws must agree with the arms recorded here.
  await runBatch(d, [
    d.insert(settings).values({ key: SALT_KEY, value: p.salt }).onConflictDoUpdate({ target: settings.key, set: { value: p.salt } }),
    d.insert(playbooks).values(DEFAULT_PLAYBOOKS.map((pb) => ({ ...pb, version: 1 }))).onConflictDoNothing(),
  ]);
  const assignments = p.accounts.flatMap((a) => a.assignments.map((h) => ({ ...h, accountId: a.id })));
  const interventions = p.accounts.flatMap((a) => a.interventions.map((iv) => ({ ...iv, accountId: a.id })));
  await runD1Batches(d1, [
    ...bulk(
      d1,
      assignments.map((h) => [h.accountId, h.tier, h.period, h.arm, h.playbookId, h.playbookVersion, h.owner, h.arr, h.windowDays, h.assignedAt]),
      `INSERT INTO holdout_assignments (account_id, tier, period, arm, playbook_id, playbook_version, owner, arr, window_days, assigned_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9
       FROM json_each(?1) WHERE true
       ON CONFLICT DO NOTHING`,
    ),
    ...bulk(
      d1,
      interventions.map((iv) => [iv.id, iv.accountId, iv.playbookId, iv.playbookVersion, iv.owner, iv.startedAt, iv.notes, iv.status, JSON.stringify(iv.stepsDone), iv.result, iv.resultNote, iv.closedAt, iv.startedAt, iv.updatedAt]),
      `INSERT INTO interventions (id, account_id, playbook_id, playbook_version, owner, started_at, notes, status, steps_done, result, result_note, closed_at, created_at, updated_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13
       FROM json_each(?1) WHERE true
       ON CONFLICT (id) DO NOTHING`,
    ),
    ...bulk(
      d1,
      p.usage.map((u) => [u.owner, u.day, u.action, u.count]),
      `INSERT INTO owner_usage (owner, day, action, count)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3
       FROM json_each(?1) WHERE true
       ON CONFLICT (owner, day, action) DO NOTHING`,
    ),
  ]);
  return { assignments: assignments.length, control: assignments.filter((h) => h.arm === "control").length, interventions: interventions.length, usage: p.usage.length };
}

/** Whether the CS history still waits for scores: an assignment without its churn probability, or no feedback yet. */
export async function playbookScoresPending(d1: D1Database): Promise<boolean> {
  const row = await d1
    .prepare("SELECT EXISTS (SELECT 1 FROM holdout_assignments WHERE churn_probability IS NULL) OR NOT EXISTS (SELECT 1 FROM feedback) AS pending")
    .first<{ pending: number }>();
  return !!row?.pending;
}

/**
 * The portfolio a loaded demo was generated as, rebuilt from D1 (its account count and its last
 * snapshot day; the default seed): for a start that finds the data loaded but not yet scored.
 */
export async function regenerateSaasPortfolio(d1: D1Database): Promise<SaasPortfolio> {
  const row = await d1.prepare("SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT max(as_of) FROM signal_snapshots) AS today").first<{ accounts: number; today: string }>();
  return generateSaasPortfolio({ accounts: row!.accounts, today: row!.today });
}

const AGREE_REASONS = ["Matches what I see on the account.", "Agree: this is the account I was worried about.", "Fair: usage and the relationship look like this.", "Agree with the drivers listed."];
const RISKIER_REASONS = ["The champion has gone quiet and the renewal is close.", "Executive sponsor left; I expect a hard renewal.", "They asked about their contract's exit terms.", "Usage is worse than the numbers show: one team does all of it."];
const RANK: Record<RiskTier, number> = { green: 0, yellow: 1, red: 2 };
const SAFER_REASONS = ["Relationship is strong; the dip in usage is seasonal.", "They just signed off on a wider rollout.", "New champion is engaged; renewal conversation went well.", "The tickets are one integration issue, now fixed."];

/**
 * After the demo's churn model has scored the history: each assignment's churn probability at
 * entry (and the score it came from) is its snapshot's score that day, scored by that model as
 * every score is (`assess`, through shared/model's scorer; assignments whose day has no stored
 * score are scored from their snapshot here). Then the CSMs' feedback: a CSM agrees when their
 * own risk for the account falls in the score's risk tier under the model's thresholds, and
 * otherwise disagrees, expecting that tier. Feedback already written (same account and time) is kept.
 *
 * @example
 *   await fillSaasPlaybookScores(env.DB, portfolio, { churn });
 */
export async function fillSaasPlaybookScores(d1: D1Database, p: SaasPortfolio, models: ActiveModels): Promise<{ assignments: number; feedback: number }> {
  await d1
    .prepare(
      `UPDATE holdout_assignments AS h SET (score_id, churn_probability) = (
         SELECT s.id, s.churn_probability FROM scores s
         WHERE s.account_id = h.account_id AND s.scored_at >= date(h.assigned_at) AND s.scored_at < date(h.assigned_at, '+1 day')
         ORDER BY s.id DESC LIMIT 1)
       WHERE h.churn_probability IS NULL`,
    )
    .run();
  const { results: unscored } = await d1
    .prepare(
      `SELECT h.account_id, h.tier, h.period, p.features FROM holdout_assignments h
       JOIN signal_snapshots p ON p.account_id = h.account_id AND p.as_of = date(h.assigned_at)
       WHERE h.churn_probability IS NULL`,
    )
    .all<{ account_id: string; tier: string; period: string; features: string }>();
  const filled = unscored.map((r) => [r.account_id, r.tier, r.period, assess(models, JSON.parse(r.features) as Record<string, RawValue>, 0).score.churnProbability]);
  if (filled.length) {
    await runD1Batches(
      d1,
      bulk(d1, filled, `UPDATE holdout_assignments AS h SET churn_probability = j.value ->> 3 FROM json_each(?1) AS j WHERE h.account_id = j.value ->> 0 AND h.tier = j.value ->> 1 AND h.period = j.value ->> 2`),
    );
  }

  const thresholds = models.churn.artifact.tiers;
  const wanted = p.accounts.flatMap((a) => a.feedback.map((f) => ({ ...f, accountId: a.id })));
  const { results: scored } = await d1
    .prepare(
      `SELECT j.key AS i, s.id, s.model_version, s.churn_probability, s.risk_tier FROM json_each(?1) AS j
       JOIN scores s ON s.id = (SELECT q.id FROM scores q WHERE q.account_id = j.value ->> 0 AND q.scored_at >= j.value ->> 1 AND q.scored_at < date(j.value ->> 1, '+1 day') ORDER BY q.id DESC LIMIT 1)`,
    )
    .bind(JSON.stringify(wanted.map((f) => [f.accountId, f.scoredOn])))
    .all<{ i: number; id: number; model_version: string; churn_probability: number; risk_tier: RiskTier }>();
  const rows = scored.map((s) => {
    const f = wanted[s.i];
    const csm = riskTier(f.csmRisk, thresholds);
    const agree = csm === s.risk_tier;
    const reasons = agree ? AGREE_REASONS : RANK[csm] > RANK[s.risk_tier] ? RISKIER_REASONS : SAFER_REASONS;
    return [f.accountId, s.id, s.model_version, s.churn_probability, s.risk_tier, agree ? "agree" : "disagree", reasons[f.pick % reasons.length], agree ? null : csm, f.owner, f.createdAt];
  });
  await runD1Batches(
    d1,
    bulk(
      d1,
      rows,
      `INSERT INTO feedback (account_id, score_id, model_version, churn_probability, risk_tier, verdict, reason, expected_tier, owner, created_at)
       SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9
       FROM json_each(?1) AS j
       WHERE NOT EXISTS (SELECT 1 FROM feedback f WHERE f.account_id = j.value ->> 0 AND f.created_at = j.value ->> 9)`,
    ),
  );
  return { assignments: filled.length, feedback: rows.length };
}
