/**
 * Monitoring policy, apart from any I/O: how a past score is labelled by the outcomes that
 * followed it, which accuracy figures a set of labelled scores supports, when figures become
 * alerts, what retraining to recommend, and how a shadow model compares with the active one.
 * The Worker's monitoring job and routes feed it rows from D1.
 */
import { addDays, DAY_MS } from "../../shared/days";
import type { modelPerformance } from "../../shared/db/schema";
import { atThreshold, brier, calibrationReport, rocAuc, spearman } from "../../shared/metrics";
import { riskTier, type TierThresholds } from "../../shared/model/artifact";
import { RISK_TIERS, type RiskTier } from "../../shared/tiers";


/** Evaluable scores below which accuracy figures are too noisy to store or alert on. */
export const MIN_EVALUABLE_SCORES = 50;
/** Accounts below which PSI is mostly sampling noise (about bins ÷ accounts even without drift). */
export const MIN_DRIFT_ACCOUNTS = 200;
/** `model.performance_degraded` below this precision at the red threshold (the brief's retrain line). */
export const PRECISION_ALERT = 0.7;
/** `model.drift_detected` above this PSI, feature or prediction: a major shift by the usual reading. */
export const PSI_ALERT = 0.2;

export interface OutcomeRow {
  type: string;
  /** YYYY-MM-DD */
  date: string;
}


/**
 * The label of a score made at `scoredAt` under a `horizonDays` horizon, from the account's
 * outcomes (any order):
 *
 * - `pending`: the horizon has not fully passed (scoredAt + horizon is after `now`);
 * - `gone`: the account had already churned on or before the score's day (its latest outcome by
 *   then is `churned`), so there was nothing left to predict;
 * - 1: a `churned` outcome dated in (score's day, score's day + horizon];
 * - 0: the horizon passed with no churn.
 *
 * Outcomes are dated by day, so a churn on the score's own day counts as before the score.
 *
 * @example
 *   outcomeLabel("2026-01-10T02:00:00Z", 90, [{ type: "churned", date: "2026-03-01" }], new Date("2026-06-01")); // 1
 */
export function outcomeLabel(scoredAt: string, horizonDays: number, outcomes: readonly OutcomeRow[], now: Date): 0 | 1 | "pending" | "gone" {
  if (Date.parse(scoredAt) + horizonDays * DAY_MS > now.getTime()) return "pending";
  const day = scoredAt.slice(0, 10);
  const end = addDays(day, horizonDays);
  let latestBefore: OutcomeRow | undefined;
  let churned = false;
  for (const o of outcomes) {
    if (o.date <= day) {
      if (!latestBefore || o.date > latestBefore.date || (o.date === latestBefore.date && o.type === "churned")) latestBefore = o;
    } else if (o.type === "churned" && o.date <= end) churned = true;
  }
  if (latestBefore?.type === "churned") return "gone";
  return churned ? 1 : 0;
}

/** True when the account's latest outcome up to `day` is a churn: it is no longer a customer. */
export function hasChurned(outcomes: readonly OutcomeRow[], day: string): boolean {
  let latest: OutcomeRow | undefined;
  for (const o of outcomes) if (o.date <= day && (!latest || o.date > latest.date || (o.date === latest.date && o.type === "churned"))) latest = o;
  return latest?.type === "churned";
}

/** What `evaluateScores` measures: the accuracy columns of a `model_performance` row. */
export type Accuracy = Pick<
  typeof modelPerformance.$inferSelect,
  "scoresEvaluated" | "positives" | "auc" | "precisionAtRed" | "recallAtRed" | "f1AtRed" | "brier" | "calibration" | "notes"
>;

const round = (v: number, digits = 6) => Number(v.toFixed(digits));
const orNull = (v: number, digits?: number) => (Number.isFinite(v) ? round(v, digits) : null);

/**
 * Accuracy of calibrated probabilities `p` against labels `y` (0/1) at the model's red
 * threshold: ROC-AUC, precision, recall and F1 of the red tier, Brier score and a 10-bin
 * reliability table. With fewer than MIN_EVALUABLE_SCORES scores, or no churner among them,
 * every figure is null and `notes` says why.
 */
export function evaluateScores(p: readonly number[], y: readonly number[], red: number): Accuracy {
  const n = p.length;
  const positives = y.reduce((a, v) => a + v, 0);
  const empty: Accuracy = { scoresEvaluated: n, positives, auc: null, precisionAtRed: null, recallAtRed: null, f1AtRed: null, brier: null, calibration: null, notes: [] };
  if (n < MIN_EVALUABLE_SCORES) {
    empty.notes.push(`Only ${n} evaluable score(s) (older than the horizon, outcome known); accuracy needs at least ${MIN_EVALUABLE_SCORES}.`);
    return empty;
  }
  if (positives === 0) {
    empty.notes.push(`None of the ${n} evaluable accounts churned within the horizon; ROC-AUC, precision and recall need churners. Record churned outcomes with POST /v1/outcomes.`);
    return empty;
  }
  const notes: string[] = [];
  const auc = rocAuc(y, p);
  if (positives === n) notes.push(`Every one of the ${n} evaluable accounts churned; ROC-AUC needs stayers too.`);
  const at = atThreshold(y, p, red);
  if (at.flagged === 0) notes.push(`No evaluable score was at or above the red threshold ${red}; precision at red is undefined.`);
  return {
    scoresEvaluated: n,
    positives,
    auc: orNull(auc),
    precisionAtRed: orNull(at.precision),
    recallAtRed: orNull(at.recall),
    f1AtRed: orNull(at.f1),
    brier: orNull(brier(y, p)),
    calibration: calibrationReport(p, y).table.map((b) => ({ from: round(b.from, 2), to: round(b.to, 2), n: b.n, meanPredicted: round(b.meanPredicted), observed: round(b.observed) })),
    notes,
  };
}

export type AlertType = "model.performance_degraded" | "model.drift_detected";

/** The alerts a computation raises: precision at red below 0.70; any PSI above 0.2. */
export function alertsFor(m: { precisionAtRed: number | null; maxFeaturePsi: number | null; predictionPsi: number | null }): AlertType[] {
  const out: AlertType[] = [];
  if (m.precisionAtRed !== null && m.precisionAtRed < PRECISION_ALERT) out.push("model.performance_degraded");
  if ((m.maxFeaturePsi ?? 0) > PSI_ALERT || (m.predictionPsi ?? 0) > PSI_ALERT) out.push("model.drift_detected");
  return out;
}

export interface RetrainingRecommendation {
  action: "retrain";
  reason: string;
  /** The newest snapshot day whose horizon has fully passed: labels are complete. */
  asOf: string;
  horizonDays: number;
  /** Run in order from the project folder (add --remote to the first and third for the deployed D1 and R2). */
  commands: string[];
  then: string;
}

/**
 * What to do about an alert: export a fresh leakage-free training set from D1 as of the newest
 * day whose horizon has passed, train on it with the same horizon, publish it as a candidate and
 * run it as the shadow model before promoting it.
 */
export function retrainingRecommendation(reason: string, horizonDays: number, now: Date): RetrainingRecommendation {
  const asOf = addDays(now.toISOString().slice(0, 10), -horizonDays);
  const csv = `churn-${asOf}.csv`;
  const dir = `models/churn-${asOf}`;
  return {
    action: "retrain",
    reason,
    asOf,
    horizonDays,
    commands: [
      `npm run export-training -- --as-of ${asOf} --horizon ${horizonDays} --out ${csv}`,
      `npm run train -- --data ${csv} --label churned --positive yes --id account_id --exclude expanded --horizon ${horizonDays} --out ${dir}`,
      `npm run publish-model -- --model ${dir}`,
    ],
    then: "Make the new version the shadow model (POST /v1/models/{version}/shadow), let a rescoring run score it beside the active one, read GET /v1/models/{version}/comparison, and promote it with POST /v1/models/{version}/activate.",
  };
}

/** One account scored by both models in the same rescoring run. */
export interface ComparedAccount {
  accountId: string;
  name: string | null;
  activeProbability: number;
  activeTier: RiskTier;
  shadowProbability: number;
  /** 0/1 where the outcome is known under the horizon rule, else null. */
  label: 0 | 1 | null;
}

export interface Comparison {
  accounts: number;
  meanAbsDelta: number | null;
  /** Mean of shadow − active: positive when the shadow scores higher on average. */
  meanDelta: number | null;
  spearman: number | null;
  tierAgreement: { share: number | null; matrix: Record<RiskTier, Record<RiskTier, number>> };
  biggestMovers: { accountId: string; name: string | null; delta: number; active: { churnProbability: number; riskTier: RiskTier }; shadow: { churnProbability: number; riskTier: RiskTier } }[];
  outcomes: { known: number; positives: number; activeAuc: number | null; shadowAuc: number | null; note: string | null };
}


/**
 * The comparison report of a shadow model against the active one on the same accounts: how far
 * the probabilities move, how the shadow's own tiers line up with the active's (rows: active
 * tier, columns: shadow tier), how the rankings agree (Spearman), the accounts that move most,
 * and where outcomes are known, both models' ROC-AUC on the same accounts.
 */
export function compareModels(rows: readonly ComparedAccount[], shadowTiers: TierThresholds, movers = 10): Comparison {
  const n = rows.length;
  const matrix = Object.fromEntries(RISK_TIERS.map((a) => [a, Object.fromEntries(RISK_TIERS.map((s) => [s, 0]))])) as Record<RiskTier, Record<RiskTier, number>>;
  let abs = 0;
  let signed = 0;
  let agree = 0;
  const shadowTier = rows.map((r) => riskTier(r.shadowProbability, shadowTiers));
  rows.forEach((r, i) => {
    const d = r.shadowProbability - r.activeProbability;
    abs += Math.abs(d);
    signed += d;
    matrix[r.activeTier][shadowTier[i]]++;
    if (r.activeTier === shadowTier[i]) agree++;
  });
  const order = rows.map((_, i) => i).sort((a, b) => Math.abs(rows[b].shadowProbability - rows[b].activeProbability) - Math.abs(rows[a].shadowProbability - rows[a].activeProbability) || (rows[a].accountId < rows[b].accountId ? -1 : 1));
  const known = rows.filter((r) => r.label !== null);
  const y = known.map((r) => r.label as number);
  const positives = y.reduce((a, v) => a + v, 0);
  let note: string | null = null;
  let activeAuc: number | null = null;
  let shadowAuc: number | null = null;
  if (known.length === 0) note = "No compared account's outcome is known yet (its horizon has not passed and it has not churned).";
  else if (positives === 0 || positives === known.length) note = `Outcomes are known for ${known.length} account(s), all ${positives ? "churned" : "stayed"}; ROC-AUC needs both.`;
  else {
    activeAuc = orNull(rocAuc(y, known.map((r) => r.activeProbability)));
    shadowAuc = orNull(rocAuc(y, known.map((r) => r.shadowProbability)));
    if (known.length < MIN_EVALUABLE_SCORES) note = `Only ${known.length} account(s) have a known outcome: read the ROC-AUCs as indicative.`;
  }
  return {
    accounts: n,
    meanAbsDelta: n ? round(abs / n) : null,
    meanDelta: n ? round(signed / n) : null,
    spearman: orNull(spearman(rows.map((r) => r.activeProbability), rows.map((r) => r.shadowProbability))),
    tierAgreement: { share: n ? round(agree / n) : null, matrix },
    biggestMovers: order.slice(0, movers).map((i) => ({
      accountId: rows[i].accountId,
      name: rows[i].name,
      delta: round(rows[i].shadowProbability - rows[i].activeProbability),
      active: { churnProbability: rows[i].activeProbability, riskTier: rows[i].activeTier },
      shadow: { churnProbability: rows[i].shadowProbability, riskTier: shadowTier[i] },
    })),
    outcomes: { known: known.length, positives, activeAuc, shadowAuc, note },
  };
}
