/**
 * ROI in one statement: what playbooks have protected (the measured uplift against the holdout)
 * and what they will protect in the next year at the forecast's churn, with the measured relative
 * improvement's interval carried through; and what the brief's target would take.
 *
 *   projected = relativeImprovement × expected churned ARR over the next 4 quarters × (1 − holdout share)
 *
 * The forecast's churn comes from the model's scores, which know nothing of playbooks; playbooks
 * cut the churn of the treated share of entering accounts by the measured relative improvement.
 * The target needs either a relative improvement of target ÷ (churned ARR × (1 − share)) here, or,
 * at the measured improvement, a portfolio whose expected churned ARR is target ÷ (r × (1 − share)).
 */

/** The brief's annual revenue protection target. */
export const TARGET_ANNUAL_PROTECTION = 2_500_000;

export interface RoiInputs {
  relativeImprovement: { estimate: number | null; ci95: [number, number] | null };
  /** Expected churned ARR over the next year, with its 90% interval. */
  churnedArrYear: { expected: number; p90: [number, number] };
  portfolioArr: number;
  holdoutShare: number;
  target: number;
}

export interface Projection {
  estimate: number | null;
  ci95: [number, number] | null;
}

/** The year's projected protection and what the target needs. */
export function projectRoi(x: RoiInputs): {
  projectedYear: Projection;
  target: { annual: number; requiredRelativeImprovement: number | null; requiredPortfolioArr: number | null; reachedAtMeasured: boolean | null };
} {
  const treated = 1 - x.holdoutShare;
  const base = x.churnedArrYear.expected * treated;
  const r = x.relativeImprovement;
  const projectedYear: Projection = {
    estimate: r.estimate === null ? null : r.estimate * base,
    ci95: r.ci95 === null ? null : [r.ci95[0] * base, r.ci95[1] * base],
  };
  const churnShare = x.portfolioArr > 0 ? x.churnedArrYear.expected / x.portfolioArr : 0;
  return {
    projectedYear,
    target: {
      annual: x.target,
      requiredRelativeImprovement: base > 0 ? x.target / base : null,
      requiredPortfolioArr: r.estimate !== null && r.estimate > 0 && churnShare > 0 ? x.target / (r.estimate * treated * churnShare) : null,
      reachedAtMeasured: projectedYear.estimate === null ? null : projectedYear.estimate >= x.target,
    },
  };
}
