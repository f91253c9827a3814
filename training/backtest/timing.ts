/**
 * The timing half of the backtest: how early the act-by rule flags churners, and how often its
 * flags are right, beside the rule "flag when the current tier is red", scored the same way.
 *
 * An account is flagged at a cutoff when its actBy falls within the next 30 days. Each churner
 * (an account labelled churned at a cutoff: no event in the horizon after it; its first such
 * cutoff counts, and one labelled churned already at the first cutoff is left out, since no
 * flag could precede it) has a lead time: the days from its first flag in the 180 days before that cutoff
 * to the cutoff, 0 when it was not flagged in that window. A flag is correct when the account is
 * labelled churned at that cutoff or at one in the 180 days after it.
 *
 * The cutoffs are every one of the rolling origin with a churn label: unlike the health forecast,
 * which is judged only where the health `horizon` days on is in the log, a flag needs no more than
 * the label, so the last `horizon` days of cutoffs flag too (on CDNOW, three more cutoffs and the
 * churners first labelled in 1998; without them, flagging every account at every cutoff led by
 * no more than the red rule's 60 days).
 */
import { isoDay } from "../dates";
import type { OriginFlags } from "./health";

export interface Timing {
  medianLeadDays: number;
  redRuleMedianLeadDays: number;
  precision: number;
  redRulePrecision: number;
  churners: number;
  flags: number;
  redRuleFlags: number;
  /** Cutoffs that flagged: every one with a churn model and a churn label. */
  cutoffs: number;
}

const WINDOW = 180;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Lead times and precision of one flag set (`pick` chooses it from each origin). */
function score(origins: readonly OriginFlags[], pick: (o: OriginFlags) => Set<string>): { leads: number[]; precision: number; flags: number } {
  const days = origins.map((o) => isoDay(o.cutoff));
  const firstChurn = new Map<string, number>();
  origins.forEach((o, i) => {
    for (const id of o.churned) if (!firstChurn.has(id)) firstChurn.set(id, i);
  });
  const leads: number[] = [];
  for (const [id, at] of firstChurn) {
    if (at === 0) continue;
    let lead = 0;
    for (let i = 0; i <= at; i++) {
      if (days[at] - days[i] > WINDOW || !pick(origins[i]).has(id)) continue;
      lead = days[at] - days[i];
      break;
    }
    leads.push(lead);
  }
  let flags = 0;
  let correct = 0;
  origins.forEach((o, i) => {
    for (const id of pick(o)) {
      flags++;
      if (origins.some((later, j) => j >= i && days[j] - days[i] <= WINDOW && later.churned.has(id))) correct++;
    }
  });
  return { leads, precision: flags ? correct / flags : 0, flags };
}

/**
 * The timing figures from each origin's flags, oldest first.
 *
 * @example
 *   timing(backtest.flags); // { medianLeadDays: 60, redRuleMedianLeadDays: 0, precision: 0.71, ... }
 */
export function timing(origins: readonly OriginFlags[]): Timing {
  const ours = score(origins, (o) => o.flagged);
  const redRule = score(origins, (o) => o.red);
  return {
    medianLeadDays: median(ours.leads),
    redRuleMedianLeadDays: median(redRule.leads),
    precision: ours.precision,
    redRulePrecision: redRule.precision,
    churners: ours.leads.length,
    flags: ours.flags,
    redRuleFlags: redRule.flags,
    cutoffs: origins.length,
  };
}
