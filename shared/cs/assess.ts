/**
 * One account's full assessment: the churn score (probability, interval, tier, drivers) and
 * expansion readiness (from the expansion model when one is active, else the scorecard), with
 * the portfolio tier that combines them. Used by the Worker, `npm start` and batch rescoring.
 */
import type { RawValue } from "../model/features";
import type { Scorer } from "../model/scorer";
import type { PortfolioTier } from "../tiers";
import { type Expansion, expansionFromModel, expansionScorecard, type ExpansionSignals, expansionSignals, portfolioTier } from "./expansion";
import { scoreInWords, type WordedScore } from "./wording";

export interface ActiveModels {
  churn: Scorer;
  /** The active expansion model, if `expanded` outcomes have trained one. */
  expansion?: Scorer;
}

export interface Assessment {
  score: WordedScore;
  expansion: Expansion;
  tier: PortfolioTier;
}

const signalsByModel = new WeakMap<Scorer, ExpansionSignals>();

function signalsOf(churn: Scorer): ExpansionSignals {
  let s = signalsByModel.get(churn);
  if (!s) signalsByModel.set(churn, (s = expansionSignals(churn.artifact.features)));
  return s;
}

/**
 * Scores `features` with the churn model and judges expansion readiness.
 *
 * @example
 *   const { score, expansion, tier } = assess({ churn }, account.features, 3);
 *   tier; // "blue" when expansion.expansionReady, else score.riskTier
 */
export function assess(models: ActiveModels, features: Record<string, RawValue>, maxDrivers = 10): Assessment {
  const score = scoreInWords(models.churn, features, maxDrivers);
  const expansion = models.expansion
    ? expansionFromModel(models.expansion, features, score.churnProbability)
    : expansionScorecard(signalsOf(models.churn), features, score.churnProbability);
  return { score, expansion, tier: portfolioTier(score.riskTier, expansion.expansionReady) };
}
