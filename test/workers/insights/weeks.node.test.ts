/** ISO week labels: the week of a day, the days of a label (real weeks only), the week that just ended. */
import { describe, expect, it } from "vitest";
import { isoWeekOf, mondayOf, weekJustEnded, weekRange } from "../../../workers/insights/weeks";

describe("ISO weeks", () => {
  it("labels a day with the week of its Thursday's year", () => {
    expect(isoWeekOf("2026-12-03")).toBe("2026-W49");
    expect(isoWeekOf("2026-11-30")).toBe("2026-W49");
    expect(isoWeekOf("2026-12-06")).toBe("2026-W49");
    expect(isoWeekOf("2026-12-07")).toBe("2026-W50");
    expect(isoWeekOf("2027-01-01")).toBe("2026-W53");
    expect(isoWeekOf("2024-12-30")).toBe("2025-W01");
    expect(isoWeekOf("2021-01-03")).toBe("2020-W53");
    expect(isoWeekOf("2021-01-04")).toBe("2021-W01");
    expect(mondayOf("2026-12-06")).toBe("2026-11-30");
  });

  it("gives a label's Monday to Sunday, and null for anything that is no real week", () => {
    expect(weekRange("2026-W49")).toEqual({ week: "2026-W49", start: "2026-11-30", end: "2026-12-06", next: "2026-12-07" });
    expect(weekRange("2020-W53")).toEqual({ week: "2020-W53", start: "2020-12-28", end: "2021-01-03", next: "2021-01-04" });
    expect(weekRange("2025-W01")?.start).toBe("2024-12-30");
    for (const bad of ["2021-W53", "2026-W00", "2026-W54", "2026-W9", "2026-49", "26-W49", "2026-w49", " 2026-W49"]) expect(weekRange(bad), bad).toBeNull();
    // Every week of a few years round-trips.
    for (let year = 2019; year <= 2030; year++) {
      for (let n = 1; n <= 53; n++) {
        const week = `${year}-W${String(n).padStart(2, "0")}`;
        const range = weekRange(week);
        if (range) expect(isoWeekOf(range.start)).toBe(week);
        else expect(n).toBe(53);
      }
    }
  });

  it("knows the week that just ended", () => {
    expect(weekJustEnded(new Date("2026-12-07T01:00:00Z"))).toBe("2026-W49");
    expect(weekJustEnded(new Date("2026-12-06T23:59:59Z"))).toBe("2026-W48");
    expect(weekJustEnded(new Date("2027-01-04T01:00:00Z"))).toBe("2026-W53");
  });
});
