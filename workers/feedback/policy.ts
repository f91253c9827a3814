/**
 * How good CSMs' verdicts were, apart from any I/O: once outcomes arrive, how often a CSM who
 * disagreed with the model was right, and the Brier score of the model, of the CSMs' stated tiers
 * and of a blend of the two. The route (`GET /v1/feedback/accuracy`) feeds it rows from D1; the
 * README's Monitoring section states the same rules.
 */
import { brier } from "../../shared/metrics";
import { DAY_MS } from "../../shared/days";
import { RISK_TIERS, type RiskTier } from "../../shared/tiers";
import { type OutcomeRow, outcomeLabel } from "../monitoring/policy";
import type { FeedbackAccuracyFigures } from "./schemas";

/** Evaluable verdicts below which the Brier scores are too noisy to report. */
export const MIN_EVALUABLE_FEEDBACK = 30;
/** Evaluable disagreements (with a stated tier) below which the share that were right is not reported. */
export const MIN_EVALUABLE_DISAGREEMENTS = 10;

/** A `feedback` row, as the report reads it. */
export interface FeedbackRow {
  id: number;
  accountId: string;
  scoreId: number | null;
  createdAt: string;
  churnProbability: number | null;
  riskTier: string | null;
  verdict: "agree" | "disagree";
  expectedTier: string | null;
}

const RANK: Record<RiskTier, number> = { green: 0, yellow: 1, red: 2 };
const isTier = (t: string | null): t is RiskTier => t !== null && (RISK_TIERS as readonly string[]).includes(t);
const round = (v: number) => Number(v.toFixed(6));

/**
 * The label of a verdict given at `createdAt`, as monitoring labels a score (`outcomeLabel`): 1 when
 * the account churned in (its day, its day + horizon], 0 when the horizon passed without a churn,
 * `gone` when it had already churned. Before the horizon has passed a churn within it already
 * settles the label (1); otherwise it is `pending`.
 */
export function feedbackLabel(createdAt: string, horizonDays: number, outcomes: readonly OutcomeRow[], now: Date): 0 | 1 | "pending" | "gone" {
  const label = outcomeLabel(createdAt, horizonDays, outcomes, now);
  if (label !== "pending") return label;
  const settled = outcomeLabel(createdAt, horizonDays, outcomes, new Date(Date.parse(createdAt) + horizonDays * DAY_MS));
  return settled === 0 ? "pending" : settled;
}

/**
 * Whether a disagreeing CSM was right: the outcome sides with their tier over the model's. A CSM who
 * expected a riskier tier than the model's (red or yellow against green, red against yellow) is right
 * when the account churned within the horizon; one who expected a safer tier is right when it did not.
 *
 * @example
 *   csmWasRight("green", "red", 1); // true: the CSM expected red, the model said green, it churned
 */
export function csmWasRight(modelTier: RiskTier, expectedTier: RiskTier, churned: 0 | 1): boolean {
  return RANK[expectedTier] > RANK[modelTier] ? churned === 1 : churned === 0;
}

/** The latest verdict per account and score: feedback sent again on the same score corrects the earlier one. */
export function latestPerScore(rows: readonly FeedbackRow[]): FeedbackRow[] {
  const latest = new Map<string, FeedbackRow>();
  for (const r of rows) {
    const key = r.scoreId === null ? `id:${r.id}` : `${r.accountId}:${r.scoreId}`;
    const seen = latest.get(key);
    if (!seen || r.createdAt > seen.createdAt || (r.createdAt === seen.createdAt && r.id > seen.id)) latest.set(key, r);
  }
  return [...latest.values()];
}

/**
 * A stated tier as a probability: the mean churn probability the model gave the verdicts' scores in
 * that tier (over every verdict considered, evaluable or not). It reads a CSM's "red" the way the
 * model means red, and uses no outcome, so the CSMs' Brier score is not fitted to the outcomes it is
 * judged on. A tier no score had is null.
 */
export function tierProbabilities(rows: readonly FeedbackRow[]): Record<RiskTier, number | null> {
  const sum = { red: 0, yellow: 0, green: 0 };
  const n = { red: 0, yellow: 0, green: 0 };
  for (const r of rows) {
    if (r.churnProbability === null || !isTier(r.riskTier)) continue;
    sum[r.riskTier] += r.churnProbability;
    n[r.riskTier]++;
  }
  return { red: n.red ? round(sum.red / n.red) : null, yellow: n.yellow ? round(sum.yellow / n.yellow) : null, green: n.green ? round(sum.green / n.green) : null };
}

/**
 * The report over verdicts given in a period, with each account's outcomes.
 *
 * Evaluable: the horizon has passed since the verdict, or the account churned within it. The Brier
 * scores are over evaluable verdicts whose CSM tier is known (agree: the model's tier; disagree: the
 * stated expectedTier) and has a probability; the blend is the mean of the model's probability and
 * the tier's. With fewer than MIN_EVALUABLE_FEEDBACK such verdicts, or only one outcome among them,
 * they are null and `notes` says why; so is `csmRightRate` below MIN_EVALUABLE_DISAGREEMENTS.
 */
export function feedbackAccuracy(rows: readonly FeedbackRow[], outcomes: ReadonlyMap<string, readonly OutcomeRow[]>, horizonDays: number, now: Date): FeedbackAccuracyFigures {
  const considered = latestPerScore(rows);
  const tierProbability = tierProbabilities(considered);
  const notes: string[] = [];
  let pending = 0;
  let gone = 0;
  const agreed = { evaluable: 0, churned: 0 };
  const disagreed = { evaluable: 0, withExpectedTier: 0, csmRight: 0, modelRight: 0 };
  const y: number[] = [];
  const pModel: number[] = [];
  const pCsm: number[] = [];
  let evaluable = 0;
  let churned = 0;
  let unmapped = 0;
  for (const r of considered) {
    const label = feedbackLabel(r.createdAt, horizonDays, outcomes.get(r.accountId) ?? [], now);
    if (label === "pending") pending++;
    if (label === "gone") gone++;
    if (label !== 0 && label !== 1) continue;
    evaluable++;
    churned += label;
    const modelTier = isTier(r.riskTier) ? r.riskTier : null;
    let csmTier: RiskTier | null = null;
    if (r.verdict === "agree") {
      agreed.evaluable++;
      agreed.churned += label;
      csmTier = modelTier;
    } else {
      disagreed.evaluable++;
      if (isTier(r.expectedTier) && modelTier && r.expectedTier !== modelTier) {
        disagreed.withExpectedTier++;
        if (csmWasRight(modelTier, r.expectedTier, label)) disagreed.csmRight++;
        else disagreed.modelRight++;
        csmTier = r.expectedTier;
      }
    }
    if (csmTier === null || r.churnProbability === null) continue;
    const tierP = tierProbability[csmTier];
    if (tierP === null) {
      unmapped++;
      continue;
    }
    y.push(label);
    pModel.push(r.churnProbability);
    pCsm.push(tierP);
  }

  if (pending) notes.push(`${pending} verdict(s) are within their ${horizonDays}-day horizon with no churn yet (not yet evaluable).`);
  if (gone) notes.push(`${gone} verdict(s) were on accounts that had already churned; left out.`);
  const withoutTier = disagreed.evaluable - disagreed.withExpectedTier;
  if (withoutTier) notes.push(`${withoutTier} evaluable disagreement(s) stated no expectedTier, so neither who was right nor the CSM's Brier score can be judged for them.`);
  if (unmapped) notes.push(`${unmapped} evaluable verdict(s) state a tier no score in the period had, so it has no probability; left out of the Brier scores.`);

  const rightRate = disagreed.withExpectedTier >= MIN_EVALUABLE_DISAGREEMENTS ? round(disagreed.csmRight / disagreed.withExpectedTier) : null;
  if (rightRate === null) notes.push(`Only ${disagreed.withExpectedTier} evaluable disagreement(s) with an expectedTier; how often CSMs were right needs at least ${MIN_EVALUABLE_DISAGREEMENTS}.`);

  const positives = y.reduce((a, b) => a + b, 0);
  let figures: Pick<FeedbackAccuracyFigures["brier"], "model" | "csm" | "blend" | "best"> = { model: null, csm: null, blend: null, best: null };
  if (y.length < MIN_EVALUABLE_FEEDBACK) {
    notes.push(`Only ${y.length} evaluable verdict(s) with a known CSM tier; the Brier scores need at least ${MIN_EVALUABLE_FEEDBACK}.`);
  } else if (positives === 0 || positives === y.length) {
    notes.push(`${positives === 0 ? "None" : "All"} of the ${y.length} evaluable verdicts' accounts churned within the horizon; Brier scores need both outcomes to tell forecasts apart.`);
  } else {
    const model = round(brier(y, pModel));
    const csm = round(brier(y, pCsm));
    const blend = round(brier(y, pModel.map((p, i) => (p + pCsm[i]) / 2)));
    const ranked = ([["model", model], ["csm", csm], ["blend", blend]] as const).slice().sort((a, b) => a[1] - b[1]);
    figures = { model, csm, blend, best: ranked[0][0] };
  }

  return {
    horizonDays,
    feedback: rows.length,
    considered: considered.length,
    evaluable,
    pending,
    gone,
    churned,
    agreed,
    disagreed: { ...disagreed, csmRightRate: rightRate },
    tierProbability,
    brier: { rows: y.length, churned: positives, ...figures },
    notes,
  };
}
