/**
 * What the synthetic SaaS portfolio adds up to (saas.ts): its yearly rates, its holdout as the
 * impact report counts it, and the true effect of its playbooks, known here because the
 * simulation can replay an account with the other arm. None of it is measured from real customers.
 */
import { addDays } from "../../shared/days";
import type { Arm, OutcomeType, PlaybookTier } from "../../shared/db/schema";
import type { SaasAssignment } from "./saas-cs";
import { type SaasAccount, type SaasPortfolio, simulateAccount } from "./saas";

export interface SaasRates {
  accounts: number;
  /** Shares of all accounts over the recorded year. */
  churned: number;
  churnedMidTerm: number;
  renewed: number;
  expanded: number;
  drifted: number;
  recovered: number;
  snapshots: number;
}

/**
 * The portfolio's yearly rates, as shares of its accounts.
 *
 * @example
 *   saasRates(generateSaasPortfolio()).churned; // ≈ 0.11
 */
export function saasRates(p: SaasPortfolio): SaasRates {
  const n = p.accounts.length;
  const share = (f: (a: SaasAccount) => boolean) => p.accounts.filter(f).length / n;
  const has = (a: SaasAccount, type: OutcomeType, note?: string) => a.outcomes.some((o) => o.type === type && (note === undefined || o.note === note));
  return {
    accounts: n,
    churned: share((a) => a.churnedOn !== null),
    churnedMidTerm: share((a) => has(a, "churned", "cancelled mid-term")),
    renewed: share((a) => has(a, "renewed")),
    expanded: share((a) => has(a, "expanded")),
    drifted: share((a) => a.drifted),
    recovered: share((a) => a.recovered),
    snapshots: p.accounts.reduce((s, a) => s + a.snapshots.length, 0),
  };
}

/** Whether an assignment's outcome window has closed by `today` (what `GET /v1/impact` counts). */
export function windowClosed(a: SaasAssignment, today: string): boolean {
  return addDays(a.assignedAt, a.windowDays) <= today;
}

/** Whether the account churned within the assignment's window (from its day to day + windowDays, as impact counts). */
export function churnedWithin(account: Pick<SaasAccount, "churnedOn">, a: SaasAssignment): boolean {
  const on = account.churnedOn;
  return on !== null && on >= a.assignedAt.slice(0, 10) && on <= addDays(a.assignedAt, a.windowDays);
}

/** Churn within the window of assignments, by arm: observed in the holdout, or both potential outcomes. */
export interface ArmChurn {
  accounts: number;
  churned: number;
  churnRate: number | null;
}

const rate = (churned: number, accounts: number): ArmChurn => ({ accounts, churned, churnRate: accounts ? churned / accounts : null });

export interface EffectBlock {
  /** Assignments with a closed window. */
  assignments: number;
  /** As the holdout observes them: each assignment in its own arm. */
  observed: Record<Arm, ArmChurn>;
  /** The truth: every one of those assignments played both ways (its own arm, and replayed with the other). */
  ifTreated: ArmChurn;
  ifControl: ArmChurn;
  /** ifControl − ifTreated churn rate: what `uplift` estimates. */
  trueUplift: number | null;
  /** trueUplift ÷ ifControl's churn rate: what `relativeImprovement` estimates. */
  trueRelative: number | null;
}

export type TrueEffect = Record<PlaybookTier | "all", EffectBlock>;

/**
 * The true effect of the portfolio's playbooks on 90-day churn: every assignment whose window has
 * closed is replayed with the other arm (the account's history up to it is the same, its own
 * draws after it too, so only the playbook differs), and both churn rates are compared, per tier
 * and over all. About one account replayed per assignment: a second or two for 3,000 accounts.
 *
 * @example
 *   saasTrueEffect(generateSaasPortfolio()).red.trueRelative; // ≈ 0.25: red playbooks cut 90-day churn by about a quarter
 */
export function saasTrueEffect(p: SaasPortfolio): TrueEffect {
  const tally = () => ({ n: 0, observed: { treated: [0, 0], control: [0, 0] }, treated: 0, control: 0 });
  const sums = { red: tally(), yellow: tally(), blue: tally(), all: tally() };
  p.accounts.forEach((account, index) => {
    account.assignments.forEach((a, k) => {
      if (!windowClosed(a, p.today)) return;
      const other: Arm = a.arm === "treated" ? "control" : "treated";
      const replay = simulateAccount(p.seed, index, p.weeks, { salt: p.salt, share: p.holdoutShare, force: { ordinal: k, arm: other } });
      const twin = replay.assignments[k];
      if (twin?.assignedAt !== a.assignedAt || twin.tier !== a.tier) throw new Error(`replaying ${account.id} did not reach its assignment ${k} (${a.tier}, ${a.assignedAt})`);
      const own = churnedWithin(account, a) ? 1 : 0;
      const flipped = churnedWithin(replay, twin) ? 1 : 0;
      for (const s of [sums[a.tier], sums.all]) {
        s.n++;
        s.observed[a.arm][0]++;
        s.observed[a.arm][1] += own;
        s.treated += a.arm === "treated" ? own : flipped;
        s.control += a.arm === "control" ? own : flipped;
      }
    });
  });
  const block = (s: ReturnType<typeof tally>): EffectBlock => {
    const ifTreated = rate(s.treated, s.n);
    const ifControl = rate(s.control, s.n);
    const trueUplift = s.n ? (s.control - s.treated) / s.n : null;
    return {
      assignments: s.n,
      observed: { treated: rate(s.observed.treated[1], s.observed.treated[0]), control: rate(s.observed.control[1], s.observed.control[0]) },
      ifTreated,
      ifControl,
      trueUplift,
      trueRelative: trueUplift !== null && s.control > 0 ? trueUplift / ifControl.churnRate! : null,
    };
  };
  return { red: block(sums.red), yellow: block(sums.yellow), blue: block(sums.blue), all: block(sums.all) };
}
