/** The trajectory rules in shared/cs/trajectory.ts: health, the own-trend forecast, trend, act-by and the weekly history. */
import { describe, expect, it } from "vitest";
import { addDays } from "../../shared/days";
import { actBy, daysToRed, healthOf, parseLeadDays, redHealth, trendForecast, trendOf, withPoint } from "../../shared/cs/trajectory";

const TODAY = "2026-12-01";
const weekly = (values: number[]) => values.map((health, i) => ({ date: addDays(TODAY, -7 * (values.length - 1 - i)), health }));

describe("health", () => {
  it("is round(100 × (1 − p)), and red at or below 100 × (1 − the red threshold)", () => {
    expect(healthOf(0.71)).toBe(29);
    expect(healthOf(0)).toBe(100);
    expect(healthOf(1)).toBe(0);
    expect(redHealth(0.7)).toBe(30);
  });
});

describe("the own-trend forecast", () => {
  it("stays put on a flat history, with an interval that widens with the horizon", () => {
    const f = trendForecast(weekly([60, 60, 60, 60, 60]), TODAY);
    expect(f.map((h) => h.days)).toEqual([30, 60, 90]);
    for (const h of f) expect(h.health).toBe(60);
    expect(f[0].upper - f[0].lower).toBeLessThan(f[2].upper - f[2].lower);
    expect(trendOf(60, f)).toBe("stable");
  });

  it("follows a falling history, damped, and reads it as declining once the interval is clear of today", () => {
    const f = trendForecast(weekly([90, 86, 82, 78, 74, 70, 66, 62, 58, 54, 50, 46, 42]), TODAY);
    // 4 points a week is −0.571 a day; damped at 0.98 a day, 90 days carry about 41.8 days of it.
    expect(f[2].health).toBeCloseTo(42 - 0.5714 * ((0.98 * (1 - 0.98 ** 90)) / 0.02), 0);
    expect(f[0].health).toBeGreaterThan(f[2].health);
    expect(trendOf(42, f)).toBe("declining");
  });

  it("reads a rising history as improving", () => {
    expect(trendOf(70, trendForecast(weekly([30, 35, 40, 45, 50, 55, 60, 65, 70]), TODAY))).toBe("improving");
  });

  it("clamps to 0–100", () => {
    const f = trendForecast(weekly([40, 30, 20, 10, 5]), TODAY);
    for (const h of f) {
      expect(h.lower).toBeGreaterThanOrEqual(0);
      expect(h.health).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("actBy", () => {
  const horizons = [
    { days: 30 as const, health: 50, lower: 40, upper: 60 },
    { days: 60 as const, health: 35, lower: 25, upper: 45 },
    { days: 90 as const, health: 20, lower: 10, upper: 30 },
  ];

  it("finds the red crossing between horizons and leaves the lead time before it", () => {
    expect(daysToRed(60, horizons, 30)).toBe(70); // 35 at 60 days, 20 at 90: 30 is a third of the way
    const a = actBy({ today: TODAY, health: 60, horizons, red: 30, leadDays: 14 });
    expect(a.actBy).toBe(addDays(TODAY, 56));
    expect(a.reasons[0]).toBe("health forecast to reach red in about 70 days, leaving 14 days of lead time");
  });

  it("is never later than the renewal minus the lead time, and says so first", () => {
    const a = actBy({ today: TODAY, health: 60, horizons, red: 30, leadDays: 14, renewalDate: "2027-01-01" });
    expect(a.actBy).toBe("2026-12-18");
    expect(a.reasons[0]).toBe("renewal on 2027-01-01 leaves 14 days of lead time");
  });

  it("is today for a red account and for a renewal closer than the lead time", () => {
    expect(actBy({ today: TODAY, health: 25, horizons, red: 30, leadDays: 14 }).actBy).toBe(TODAY);
    expect(actBy({ today: TODAY, health: 90, horizons: horizons.map((h) => ({ ...h, health: 90 })), red: 30, leadDays: 14, renewalDate: "2026-12-05" }).actBy).toBe(TODAY);
  });

  it("is null with nothing in sight, saying why", () => {
    const a = actBy({ today: TODAY, health: 90, horizons: horizons.map((h) => ({ ...h, health: 90 })), red: 30, leadDays: 14 });
    expect(a).toEqual({ actBy: null, reasons: ["no red crossing forecast within 90 days and no renewal date"] });
  });
});

describe("ACT_BY_LEAD_DAYS", () => {
  it("takes one number or per-tier values and names a bad part", () => {
    expect(parseLeadDays("21")).toEqual({ red: 21, yellow: 21, green: 21, blue: 21 });
    expect(parseLeadDays("red=7,yellow=10")).toEqual({ red: 7, yellow: 10, green: 14, blue: 14 });
    expect(() => parseLeadDays("purple=3")).toThrow(/purple/);
    expect(() => parseLeadDays("red=soon")).toThrow(/red=soon/);
  });
});

describe("the weekly history", () => {
  it("keeps the latest point of each week, newest last, at most 26", () => {
    const h = withPoint(weekly([70, 71]), { date: TODAY, health: 60 });
    expect(h.at(-1)).toEqual({ date: TODAY, health: 60 });
    const sameWeek = withPoint(h, { date: addDays(TODAY, 1), health: 58 });
    expect(sameWeek.length).toBe(h.length);
    expect(sameWeek.at(-1)).toEqual({ date: addDays(TODAY, 1), health: 58 });
    expect(withPoint(weekly(Array.from({ length: 40 }, (_, i) => i)), { date: addDays(TODAY, 7), health: 1 }).length).toBe(26);
  });
});
