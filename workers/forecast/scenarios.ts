/**
 * What-if scenarios on the forecast's per-account probabilities, pure: "if we save half of red
 * ARR" multiplies red accounts' churn probability by (1 − 0.5); "if expansion readiness converts
 * at 30%" gives blue accounts a 30% chance to expand per quarter. The levers apply in a fixed
 * order: the multipliers, then the saved shares, then the conversion, each clamped to [0, 1].
 */
import type { PortfolioTier } from "../../shared/tiers";
import type { Hazards, Window } from "./hazards";
import { daysBetween } from "../../shared/days";

/** A scenario's levers; absent ones leave the baseline as it is. */
export interface Levers {
  /** Share of red accounts' churn that is saved: their churn probability × (1 − share). */
  saveRedShare?: number;
  /** The same for yellow accounts. */
  saveYellowShare?: number;
  /** Blue (expansion-ready) accounts expand with this probability per quarter (for the current quarter, pro rata to the part of it left). */
  expansionConversion?: number;
  /** Every account's churn probability × this. */
  churnMultiplier?: number;
  /** Every account's expansion probability × this. */
  expansionMultiplier?: number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** The share of its calendar quarter a window covers: 1 for a whole quarter, less for the current one from today. */
export function quarterShare(win: Window): number {
  const month = Number(win.end.slice(5, 7));
  const quarterStart = `${win.end.slice(0, 4)}-${String(month - ((month - 1) % 3)).padStart(2, "0")}-01`;
  return Math.min(1, (daysBetween(win.start, win.end) + 1) / (daysBetween(quarterStart, win.end) + 1));
}

/**
 * The baseline's probabilities with a scenario's levers applied (a new Hazards; the baseline is untouched).
 *
 * @example
 *   withLevers(baseline, tiers, windows, { saveRedShare: 0.5 }).churn; // red accounts' halved
 */
export function withLevers(h: Hazards, tiers: readonly (PortfolioTier | null)[], windows: readonly Window[], levers: Levers): Hazards {
  const w = h.windows;
  const churn = Float64Array.from(h.churn);
  const expand = Float64Array.from(h.expand);
  const share = windows.map(quarterShare);
  for (let i = 0; i < h.accounts; i++) {
    const tier = tiers[i];
    const save = tier === "red" ? (levers.saveRedShare ?? 0) : tier === "yellow" ? (levers.saveYellowShare ?? 0) : 0;
    for (let j = 0; j < w; j++) {
      const x = i * w + j;
      churn[x] = clamp01(churn[x] * (levers.churnMultiplier ?? 1) * (1 - save));
      expand[x] = clamp01(expand[x] * (levers.expansionMultiplier ?? 1));
      if (tier === "blue" && levers.expansionConversion !== undefined) expand[x] = 1 - (1 - levers.expansionConversion) ** share[j];
    }
  }
  return { ...h, churn, expand };
}
