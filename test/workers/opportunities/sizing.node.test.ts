/** How big an expansion is likely to be: a segment's own median, else the portfolio's, else the stated prior. */
import { describe, expect, it } from "vitest";
import { DEFAULT_EXPANSION_SHARE, median, sizeBases } from "../../../workers/opportunities/sizing";

describe("expansion size bases", () => {
  it("uses a segment's own median with 5 or more expansions, the portfolio's below, the prior without history", () => {
    const bases = sizeBases(new Map([["SMB", [0.2, 0.3, 0.25, 0.2, 0.3]], ["Enterprise", [0.1]]]), ["SMB", "Enterprise", "Mid-Market"]);
    expect(bases.get("SMB")).toEqual({ segment: "SMB", share: 0.25, expansions: 5, source: "segment" });
    expect(bases.get("Enterprise")).toEqual({ segment: "Enterprise", share: median([0.2, 0.3, 0.25, 0.2, 0.3, 0.1]), expansions: 6, source: "portfolio" });
    expect(bases.get("Mid-Market")!.source).toBe("portfolio");
    const none = sizeBases(new Map([["SMB", [0.5]]]), ["SMB"]);
    expect(none.get("SMB")).toEqual({ segment: "SMB", share: DEFAULT_EXPANSION_SHARE, expansions: 0, source: "default" });
  });

  it("ignores non-positive and non-finite shares", () => {
    const bases = sizeBases(new Map([["all", [0.1, 0.2, 0.3, 0.4, 0.5, -1, Number.NaN, 0]]]), []);
    expect(bases.get("all")).toEqual({ segment: "all", share: 0.3, expansions: 5, source: "portfolio" });
  });
});
