/** The feedback accuracy rules on their own: who was right, when Brier scores are withheld, which verdict counts. */
import { describe, expect, it } from "vitest";
import { csmWasRight, type FeedbackRow, feedbackAccuracy, feedbackLabel, latestPerScore } from "../../../workers/feedback/policy";

const NOW = new Date("2026-12-01T00:00:00Z");

function verdict(id: number, over: Partial<FeedbackRow> = {}): FeedbackRow {
  return { id, accountId: `A-${id}`, scoreId: id, createdAt: "2026-06-01T10:00:00.000Z", churnProbability: 0.3, riskTier: "green", verdict: "agree", expectedTier: null, ...over };
}

describe("feedback accuracy policy", () => {
  it("a disagreeing CSM is right when the outcome sides with their tier", () => {
    expect(csmWasRight("green", "red", 1)).toBe(true);
    expect(csmWasRight("green", "yellow", 1)).toBe(true);
    expect(csmWasRight("yellow", "red", 0)).toBe(false);
    expect(csmWasRight("red", "green", 0)).toBe(true);
    expect(csmWasRight("red", "yellow", 1)).toBe(false);
    expect(csmWasRight("yellow", "green", 1)).toBe(false);
  });

  it("labels a verdict like a score, settling it early on a churn within the horizon", () => {
    const at = "2026-11-01T09:00:00.000Z";
    expect(feedbackLabel(at, 90, [], NOW)).toBe("pending");
    expect(feedbackLabel(at, 90, [{ type: "churned", date: "2026-11-20" }], NOW)).toBe(1);
    expect(feedbackLabel(at, 90, [{ type: "churned", date: "2026-10-01" }], NOW)).toBe("gone");
    expect(feedbackLabel("2026-06-01T09:00:00.000Z", 90, [{ type: "churned", date: "2026-10-01" }], NOW)).toBe(0);
  });

  it("keeps the latest verdict per account and score", () => {
    const rows = [verdict(1, { scoreId: 7, accountId: "A" }), verdict(2, { scoreId: 7, accountId: "A", createdAt: "2026-06-02T00:00:00.000Z", verdict: "disagree" }), verdict(3, { scoreId: 8, accountId: "A" })];
    expect(latestPerScore(rows).map((r) => r.id).sort()).toEqual([2, 3]);
  });

  it("withholds the Brier scores when every evaluable account had the same outcome", () => {
    const rows = Array.from({ length: 40 }, (_, i) => verdict(i + 1));
    const r = feedbackAccuracy(rows, new Map(), 90, NOW);
    expect(r.evaluable).toBe(40);
    expect(r.brier).toEqual({ rows: 40, churned: 0, model: null, csm: null, blend: null, best: null });
    expect(r.notes.join(" ")).toContain("None of the 40 evaluable verdicts' accounts churned");
  });
});
