/** The worklist's urgency rule, as a CSM would read it. */
import { describe, expect, it } from "vitest";
import { expectedArrSaved, urgency } from "../../../workers/worklist/policy";

describe("worklist urgency", () => {
  it("is 1 within the coming week or when overdue, 7/days further out, 7/90 when nothing is due", () => {
    expect(urgency("2026-12-01", "2026-12-01")).toBe(1);
    expect(urgency("2026-11-20", "2026-12-01")).toBe(1);
    expect(urgency("2026-12-08", "2026-12-01")).toBe(1);
    expect(urgency("2026-12-15", "2026-12-01")).toBeCloseTo(0.5, 12);
    expect(urgency("2026-12-29", "2026-12-01")).toBeCloseTo(0.25, 12);
    expect(urgency(null, "2026-12-01")).toBeCloseTo(7 / 90, 12);
  });

  it("weighs churn probability × ARR by it, so a sooner deadline outranks a larger but later one", () => {
    expect(expectedArrSaved(0.6, 50_000, "2026-12-03", "2026-12-01")).toBeCloseTo(30_000, 6);
    expect(expectedArrSaved(0.6, 50_000, "2026-12-29", "2026-12-01")).toBeCloseTo(7_500, 6);
    expect(expectedArrSaved(0.5, 20_000, "2026-12-02", "2026-12-01")).toBeGreaterThan(expectedArrSaved(0.6, 50_000, "2027-02-01", "2026-12-01"));
    expect(expectedArrSaved(0.9, null, "2026-12-01", "2026-12-01")).toBe(0);
  });
});
