/** The ROI arithmetic: projection with the improvement's interval, and what the target needs. */
import { describe, expect, it } from "vitest";
import { projectRoi } from "../../../workers/roi/policy";

describe("projectRoi", () => {
  it("projects relative improvement × next year's churned ARR × the treated share, with the interval", () => {
    const out = projectRoi({ relativeImprovement: { estimate: 0.2, ci95: [0.05, 0.35] }, churnedArrYear: { expected: 1_000_000, p90: [800_000, 1_200_000] }, portfolioArr: 10_000_000, holdoutShare: 0.1, target: 2_500_000 });
    expect(out.projectedYear.estimate).toBeCloseTo(180_000, 6);
    expect(out.projectedYear.ci95![0]).toBeCloseTo(45_000, 6);
    expect(out.projectedYear.ci95![1]).toBeCloseTo(315_000, 6);
    // $2.5M of $900K treatable churn: more than all of it.
    expect(out.target.requiredRelativeImprovement).toBeCloseTo(2_500_000 / 900_000, 9);
    // At 20% and a 10% churn share, $2.5M needs $2.5M / (0.2 × 0.9 × 0.1) of ARR.
    expect(out.target.requiredPortfolioArr).toBeCloseTo(2_500_000 / (0.2 * 0.9 * 0.1), 3);
    expect(out.target.reachedAtMeasured).toBe(false);
  });

  it("states nothing it cannot: no estimate, no projection and no required portfolio", () => {
    const out = projectRoi({ relativeImprovement: { estimate: null, ci95: null }, churnedArrYear: { expected: 500_000, p90: [400_000, 600_000] }, portfolioArr: 5_000_000, holdoutShare: 0.1, target: 2_500_000 });
    expect(out.projectedYear).toEqual({ estimate: null, ci95: null });
    expect(out.target.requiredPortfolioArr).toBeNull();
    expect(out.target.reachedAtMeasured).toBeNull();
    expect(out.target.requiredRelativeImprovement).toBeCloseTo(2_500_000 / 450_000, 9);
  });
});
