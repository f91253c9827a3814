/**
 * One block of the impact report (the whole period, one playbook or one owner) from its sums:
 * the arms, the uplift and its interval, ARR protected, red → yellow/green transitions, the
 * sample size and the summary sentence. Pure, like `stats.ts`; `report.ts` feeds it from D1.
 */
import { money } from "../accounts/portfolio";
import type { z } from "zod";
import type { ImpactFigures } from "./schemas";
import { accountsNeeded, type ArmSums, emptyArm, type Estimate, estimateUplift, MIN_ACCOUNTS_PER_ARM, MIN_CHURNS_PER_ARM, MIN_EVENTS_FOR_WALD, TARGET_RELATIVE_IMPROVEMENT, tooFew, TRANSITION_DAYS } from "./stats";

/** One arm of a block: its outcome sums and, for its assignments into red, the transitions per TRANSITION_DAYS. */
export interface ArmFacts {
  sums: ArmSums;
  /** Red assignments whose N-day window has passed, and those with a yellow/green score within N days, per TRANSITION_DAYS. */
  redEligible: number[];
  redRecovered: number[];
}

export interface BlockFacts {
  control: ArmFacts;
  treated: ArmFacts;
}

export const emptyArmFacts = (): ArmFacts => ({
  sums: emptyArm(),
  redEligible: TRANSITION_DAYS.map(() => 0),
  redRecovered: TRANSITION_DAYS.map(() => 0),
});

export type BlockFigures = z.infer<typeof ImpactFigures>;
export type ArmFigures = BlockFigures["treated"];
export type Power = BlockFigures["power"];
export type Transition = BlockFigures["transitions"][number];

const arm = (s: ArmSums): ArmFigures => ({ accounts: s.n, churned: s.churned, churnRate: s.n ? s.churned / s.n : null, arr: s.arr });
const points = (v: number) => `${(v * 100).toFixed(1)}`;
const percent = (v: number) => `${Math.round(v * 100)}%`;
const count = (v: number) => v.toLocaleString("en-US");

/** How many accounts detecting the observed uplift (or, failing that, the 25% target) needs, and how many more that is. */
export function powerFor(facts: BlockFacts, estimate: Estimate | null, defaultControlShare: number): Power {
  const c = facts.control.sums;
  const t = facts.treated.sums;
  const total = c.n + t.n;
  const controlShare = c.n > 0 && t.n > 0 ? c.n / total : defaultControlShare;
  const base = { alpha: 0.05, power: 0.8, controlShare };
  let basis: Power["basis"] = null;
  let effect: number | null = null;
  let baseline: number | null = null;
  let variance: { control: number; treated: number } | null = null;
  if (estimate && estimate.uplift > 0) {
    basis = "observed";
    effect = estimate.uplift;
    baseline = c.churned / c.n;
    variance = estimate.variance;
  } else {
    // The observed control rate when there is one to speak of, else what the model predicted at assignment.
    baseline = c.n >= MIN_ACCOUNTS_PER_ARM && c.churned >= MIN_CHURNS_PER_ARM ? c.churned / c.n : c.nx + t.nx > 0 ? (c.sx + t.sx) / (c.nx + t.nx) : null;
    if (baseline !== null && baseline > 0 && baseline < 1) {
      basis = "target";
      effect = baseline * TARGET_RELATIVE_IMPROVEMENT;
      const treatedRate = baseline - effect;
      variance = { control: baseline * (1 - baseline), treated: treatedRate * (1 - treatedRate) };
    }
  }
  const needed = effect !== null && variance ? accountsNeeded(effect, variance, controlShare) : null;
  if (!needed || effect === null || baseline === null) {
    return { ...base, basis: null, effect: null, baselineChurnRate: baseline, neededPerArm: null, moreNeeded: null, sufficient: false, note: "No churn rate to size a sample from yet (no control churn and no churn probability at assignment)." };
  }
  const more = { control: Math.max(0, needed.control - c.n), treated: Math.max(0, needed.treated - t.n) };
  const moreNeeded = { ...more, total: more.control + more.treated };
  const sized =
    basis === "observed"
      ? `the observed cut of ${points(effect)} points`
      : `a ${percent(TARGET_RELATIVE_IMPROVEMENT)} cut in churn from ${points(baseline)}% (${estimate ? "the observed uplift is not positive" : "too few accounts to use the observed uplift"})`;
  const note = `Detecting ${sized} at 80% power (α 0.05, two-sided) takes ${count(needed.control)} control and ${count(needed.treated)} treated accounts at a ${percent(controlShare)} control share${moreNeeded.total ? `: ${count(moreNeeded.total)} more` : ", which this period has"}.`;
  return { ...base, basis, effect, baselineChurnRate: baseline, neededPerArm: needed, moreNeeded, sufficient: moreNeeded.total === 0, note };
}

function transitions(facts: BlockFacts): Transition[] {
  const side = (a: ArmFacts, i: number) => ({ accounts: a.redEligible[i], recovered: a.redRecovered[i], share: a.redEligible[i] ? a.redRecovered[i] / a.redEligible[i] : null });
  return TRANSITION_DAYS.map((days, i) => ({ days, treated: side(facts.treated, i), control: side(facts.control, i) }));
}

function moreSentence(p: Power): string {
  if (!p.moreNeeded || p.effect === null) return "";
  if (p.moreNeeded.total === 0) return ` The period already has the accounts needed to detect a cut of ${points(p.effect)} points at 80% power.`;
  const what = p.basis === "observed" ? `the observed cut of ${points(p.effect)} points` : `a ${percent(TARGET_RELATIVE_IMPROVEMENT)} cut in churn (${points(p.effect)} points)`;
  return ` About ${count(p.moreNeeded.total)} more accounts (${count(p.moreNeeded.control)} control, ${count(p.moreNeeded.treated)} treated at this split) are needed to detect ${what} at 80% power.`;
}

/**
 * The block's sentence. It claims a figure only when the 95% interval's lower bound is above zero;
 * otherwise it says the effect is not yet distinguishable from zero and how many more accounts are needed.
 */
export function summarise(f: Omit<BlockFigures, "summary">): string {
  const { treated: t, control: c, uplift: u } = f;
  if (t.accounts + c.accounts === 0) return "No assignment in this period has a closed outcome window yet, so there is nothing to measure.";
  if (u.estimate === null || !u.ci95) return `Too little data to measure the effect yet: ${f.reasons.join("; ")}.${moreSentence(f.power)}`;
  const [lo, hi] = u.ci95;
  const arms = `${c.churned} of ${count(c.accounts)} control accounts churned (${points(c.churnRate ?? 0)}%) against ${t.churned} of ${count(t.accounts)} treated (${points(t.churnRate ?? 0)}%)`;
  if (lo > 0) {
    const r = f.relativeImprovement;
    const relative = r.estimate !== null && r.ci95 && r.ci95[0] > 0 ? `, a ${percent(r.estimate)} relative improvement (95% CI ${percent(r.ci95[0])} to ${percent(r.ci95[1])})` : "";
    const arr = f.arrProtected.estimate !== null && f.arrProtected.ci95 ? ` About ${money(f.arrProtected.estimate)} of treated ARR protected (95% CI ${money(f.arrProtected.ci95[0])} to ${money(f.arrProtected.ci95[1])}).` : "";
    return `Playbooks cut churn by ${points(u.estimate)} points (95% CI ${points(lo)} to ${points(hi)}, ${f.method})${relative}: ${arms}.${arr}`;
  }
  if (hi < 0) return `Treated accounts churned more than the control group, by ${points(-u.estimate)} points (95% CI ${points(-hi)} to ${points(-lo)}): ${arms}. No ARR is claimed as protected.`;
  return `The effect of playbooks is not yet distinguishable from zero: the 95% interval for the cut in churn runs from ${points(lo)} to ${points(hi)} points (${count(c.accounts)} control, ${count(t.accounts)} treated accounts).${moreSentence(f.power)}`;
}

/**
 * Everything the report says about one block.
 *
 * @example
 *   const overall = blockFigures({ control, treated }, 0.1);
 *   overall.summary; // "Playbooks cut churn by 8.1 points (95% CI 2.5 to 13.7, cupac), ..."
 */
export function blockFigures(facts: BlockFacts, defaultControlShare: number): BlockFigures {
  const c = facts.control.sums;
  const t = facts.treated.sums;
  const estimate = estimateUplift(c, t);
  const reasons = tooFew(c, t);
  if (estimate?.method === "newcombe") reasons.push(`unadjusted (newcombe): the churn probability at assignment is missing, or an arm has fewer than ${MIN_EVENTS_FOR_WALD} churns or ${MIN_EVENTS_FOR_WALD} non-churns for the adjusted Wald interval`);
  if (estimate && estimate.relativeImprovement === null) reasons.push("no relative improvement: the (adjusted) churn rate of an arm is not above zero");
  const scale = (v: [number, number] | null): [number, number] | null => (v ? [v[0] * t.arr, v[1] * t.arr] : null);
  const partial: Omit<BlockFigures, "summary"> = {
    treated: arm(t),
    control: arm(c),
    method: estimate?.method ?? null,
    uplift: { estimate: estimate?.uplift ?? null, ci95: estimate?.ci95 ?? null },
    relativeImprovement: { estimate: estimate?.relativeImprovement ?? null, ci95: estimate?.relativeCi95 ?? null },
    arrProtected: { estimate: estimate ? estimate.uplift * t.arr : null, ci95: scale(estimate?.ci95 ?? null) },
    adjustment: estimate?.theta != null ? { covariate: "churnProbability", theta: estimate.theta, varianceReduction: estimate.varianceReduction } : null,
    transitions: transitions(facts),
    power: powerFor(facts, estimate, defaultControlShare),
    reasons,
  };
  return { ...partial, summary: summarise(partial) };
}
