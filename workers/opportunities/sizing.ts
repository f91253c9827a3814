/**
 * How big an expansion-ready account's expansion is likely to be: the median expansion of similar
 * accounts, as a share of ARR, applied to the account's ARR.
 *
 * "Similar" is the same `segment` signal when accounts carry one. The share is the median of
 * amount ÷ ARR over `expanded` outcomes with an amount in the last 365 days (the account's ARR now;
 * an expansion raises it, so the share is a slight underestimate); a segment with fewer than
 * MIN_EXPANSIONS of them uses the portfolio's median, and a portfolio with fewer uses
 * DEFAULT_EXPANSION_SHARE. Each answer says which basis it used.
 */

/** Expansions a segment needs before its own median is used. */
export const MIN_EXPANSIONS = 5;
/** The expansion size, as a share of ARR, before the portfolio has expansion history: a stated prior. */
export const DEFAULT_EXPANSION_SHARE = 0.2;
/** The portfolio-wide basis's segment name. */
export const ALL = "all";

export interface SizeBasis {
  segment: string;
  /** Median expansion amount ÷ ARR. */
  share: number;
  /** Expansions the median is over (0 for the prior). */
  expansions: number;
  source: "segment" | "portfolio" | "default";
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The basis for each segment seen, from the observed expansion shares by segment.
 *
 * @example
 *   const bases = sizeBases(new Map([["SMB", [0.2, 0.3, 0.25, 0.2, 0.3]], ["Enterprise", [0.1]]]), ["SMB", "Enterprise", "Mid-Market"]);
 *   bases.get("SMB")!.source;        // "segment" (5 expansions, median 0.25)
 *   bases.get("Enterprise")!.source; // "portfolio" (1 is too few: the median of all six)
 */
export function sizeBases(shares: ReadonlyMap<string, readonly number[]>, segments: readonly string[]): Map<string, SizeBasis> {
  const all = [...shares.values()].flat().filter((x) => Number.isFinite(x) && x > 0);
  const portfolio: SizeBasis = all.length >= MIN_EXPANSIONS ? { segment: ALL, share: median(all), expansions: all.length, source: "portfolio" } : { segment: ALL, share: DEFAULT_EXPANSION_SHARE, expansions: 0, source: "default" };
  const out = new Map<string, SizeBasis>([[ALL, portfolio]]);
  for (const seg of segments) {
    const own = (shares.get(seg) ?? []).filter((x) => Number.isFinite(x) && x > 0);
    out.set(seg, own.length >= MIN_EXPANSIONS ? { segment: seg, share: median(own), expansions: own.length, source: "segment" } : { ...portfolio, segment: seg });
  }
  return out;
}
