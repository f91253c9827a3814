/**
 * The SaaS demo's CS team (simulated, not real; saas.ts describes the whole process): each week it
 * looks at every account as a CSM would, and when an account enters a playbook tier it is assigned
 * to the holdout with the product's own rule (shared/cs/holdout.ts: the salted sha256 draw, the
 * month as the period, the standing rules). A treated account gets an intervention from the
 * matching default playbook, run by its owner; a control account gets none. CSMs also give
 * feedback on some past scores, from their own (noisy) reading of the account.
 */
import { createHash } from "node:crypto";
import { armOfDraw, drawFromDigest, holdoutMessage, periodOf, standing } from "../../shared/cs/holdout";
import { addDays } from "../../shared/days";
import type { Arm, PlaybookTier, Signals, StepDone } from "../../shared/db/schema";
import { DEFAULT_PLAYBOOKS } from "../../shared/cs/default-playbooks";
import { type Draws, sigmoid, workdayFrom } from "./saas-draws";

/** The holdout as the Worker's defaults set it (HOLDOUT_SHARE, HOLDOUT_WINDOW_DAYS). */
export const HOLDOUT_SHARE = 0.1;
export const HOLDOUT_WINDOW_DAYS = 90;
/** The CS team's tiers from the 4-week mean health h̄₄: red below −0.7 (AT_RISK), yellow below WATCH, blue when healthy and using most seats. */
export const WATCH = -0.3;
export const EXPANSION_SEAT_SHARE = 0.85;
/** Support tickets in 30 days from which a red account gets the support escalation; a fall in login days from which a yellow one is re-onboarded. */
export const TICKETS_ESCALATE = 5;
export const LOGINS_FALL = 5;

export type CsTier = "red" | "yellow" | "green" | "blue";

/** Churn at renewal: sigmoid(intercept + slope · h̄₈), h̄₈ the mean health of the last 8 weeks (the CSM's risk reads the same curve). */
export const RENEWAL_CHURN = { intercept: -1.8, slope: -1.8 } as const;

/**
 * The true simulated effect of a playbook, applied from the week after it starts: `undo` of the
 * account's negative shocks and fit erosion are undone at once, `lift` is added to its health
 * target and fades (LIFT_FADE a week), and for `expansionWeeks` a healthy account expands
 * mid-term as BOOSTED_EXPANSION says (from 88% of its seats used, not 92%; 9% a week, not 6%).
 */
export const PLAYBOOK_EFFECTS: Record<PlaybookTier, { undo: number; lift: number; expansionWeeks: number }> = {
  red: { undo: 0.5, lift: 0.8, expansionWeeks: 0 },
  yellow: { undo: 0.25, lift: 0.25, expansionWeeks: 0 },
  blue: { undo: 0, lift: 0, expansionWeeks: 8 },
};
export const LIFT_FADE = 0.92;
export const BOOSTED_EXPANSION = { seatShare: 0.88, weekly: 0.09 } as const;
export type PlaybookEffect = (typeof PLAYBOOK_EFFECTS)[PlaybookTier];

/** Share of a playbook's steps a CSM gets done; how noisily a CSM reads an account's health. */
const STEP_DONE_SHARE = 0.9;
const CSM_NOISE = 0.4;
/** Chance a week that a CSM gives feedback on an account's score, by the tier they see it in. */
const FEEDBACK_CHANCE: Record<CsTier, number> = { red: 0.06, yellow: 0.02, green: 0.004, blue: 0.004 };

/** The CS team's tier for an account: its 4-week mean health, and for blue its seat use. */
export function csTier(health4: number, seatShare: number, atRisk: number, healthy: number): CsTier {
  if (health4 < atRisk) return "red";
  if (health4 < WATCH) return "yellow";
  return health4 >= healthy && seatShare >= EXPANSION_SEAT_SHARE ? "blue" : "green";
}

/** A holdout assignment as the demo records it (holdout_assignments; churnProbability is filled after training). */
export interface SaasAssignment {
  tier: PlaybookTier;
  period: string;
  arm: Arm;
  playbookId: string;
  playbookVersion: number;
  owner: string;
  arr: number;
  windowDays: number;
  assignedAt: string;
}

export interface SaasIntervention {
  id: string;
  /** The assignment it serves. */
  tier: PlaybookTier;
  period: string;
  playbookId: string;
  playbookVersion: number;
  owner: string;
  startedAt: string;
  notes: string;
  status: "open" | "completed";
  stepsDone: StepDone[];
  result: "retained" | "expanded" | "churned" | "no_change" | null;
  resultNote: string | null;
  closedAt: string | null;
  updatedAt: string;
}

/** A CSM's verdict to come on the score of the week `scoredOn`: agree when `csmRisk` falls in the score's tier. */
export interface SaasFeedback {
  scoredOn: string;
  createdAt: string;
  owner: string;
  /** The CSM's own 90-day churn risk for the account, from its health as they read it and its renewal date. */
  csmRisk: number;
  /** Picks the reason's wording. */
  pick: number;
}

/** What the CS team sees of an account at the end of a recorded week. */
export interface WeekView {
  day: string;
  /**
   * The last recorded week (today's snapshot): the CS team has not acted on it yet, so nothing
   * is assigned, started, closed or said that day; its score is made at load time.
   */
  last: boolean;
  health8: number;
  signals: Signals;
  /** Login days 8 weeks before, if recorded. */
  loginsBefore: number | null;
  arr: number;
}

export interface CsContext {
  seed: number;
  salt: string;
  share: number;
  /** Forces the arm of the account's k-th new assignment (the true effect's counterfactuals). */
  force?: { ordinal: number; arm: Arm };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The playbook the product would pick and why: the tier, and the dominant signal the CSM sees. */
function playbookFor(tier: PlaybookTier, v: WeekView): { id: string; why: string } {
  const tickets = Number(v.signals.support_tickets_30d);
  const logins = Number(v.signals.logins_30d);
  if (tier === "red") return tickets >= TICKETS_ESCALATE ? { id: "red-tickets", why: `${tickets} support tickets in 30 days` } : { id: "red-rescue", why: `health fell to at risk, ${logins} login days in 30` };
  if (tier === "yellow") {
    const fell = v.loginsBefore !== null && v.loginsBefore - logins >= LOGINS_FALL;
    return fell ? { id: "yellow-logins", why: `login days fell from ${v.loginsBefore} to ${logins} a month` } : { id: "yellow-engage", why: `health slipped to watch, ${logins} login days in 30` };
  }
  return { id: "blue-expand", why: `${v.signals.seats_used} of ${v.signals.seats} seats in use` };
}

interface Running {
  iv: SaasIntervention;
  entryTier: PlaybookTier;
  steps: { day: string; doneAt: string; done: boolean }[];
  endDay: string;
}

const BETTER: Record<PlaybookTier, readonly CsTier[]> = { red: ["yellow", "green", "blue"], yellow: ["green", "blue"], blue: [] };

/** One account's CS team over the recorded year. */
export class CsTeam {
  readonly assignments: SaasAssignment[] = [];
  readonly interventions: SaasIntervention[] = [];
  readonly feedback: SaasFeedback[] = [];
  private running: Running | null = null;
  private previous: CsTier | null = null;
  private ordinal = 0;
  private readonly expansions: string[] = [];

  constructor(
    private readonly account: { id: string; owner: string },
    private readonly ctx: CsContext,
    private readonly cs: Draws,
    private readonly today: string,
  ) {}

  /** A burn-in week: only its tier is remembered, so an entry is a change seen in a recorded week. */
  burnIn(tier: CsTier): void {
    this.previous = tier;
  }

  /**
   * A recorded week: playbooks due to end close, a CSM may give feedback, and an account that
   * enters a playbook tier is assigned (unless the holdout's standing says otherwise). Returns the
   * playbook's effect when a treated account starts one (it acts from the next week).
   */
  week(v: WeekView, tier: CsTier): PlaybookEffect | null {
    const previous = this.previous;
    this.previous = tier;
    if (this.running && this.running.endDay <= v.day && this.running.endDay < this.today) this.close(this.running.endDay, tier, null);
    this.maybeFeedback(v, tier);
    if (v.last || tier === previous || tier === "green" || previous === null) return null;
    if (standing(this.assignments, tier, v.day).state !== "unassigned") return null;
    const period = periodOf(v.day);
    const playbook = playbookFor(tier, v);
    const k = this.ordinal++;
    const arm = this.ctx.force?.ordinal === k ? this.ctx.force.arm : armOfDraw(drawFromDigest(sha256(holdoutMessage(this.ctx.salt, this.account.id, tier, period))), this.ctx.share);
    const assignment: SaasAssignment = { tier, period, arm, playbookId: playbook.id, playbookVersion: 1, owner: this.account.owner, arr: v.arr, windowDays: HOLDOUT_WINDOW_DAYS, assignedAt: `${v.day}T12:00:00.000Z` };
    this.assignments.push(assignment);
    if (arm === "control") return null;
    this.start(assignment, v, `Entered ${tier} on ${v.day}: ${playbook.why}.`);
    return PLAYBOOK_EFFECTS[tier];
  }

  /**
   * The account churned on `on`: a running playbook ends with it, and one due to start after that
   * day never started (its assignment stays treated: the holdout compares arms as assigned).
   */
  churned(on: string): void {
    if (this.running && this.running.iv.startedAt.slice(0, 10) > on) {
      this.interventions.splice(this.interventions.indexOf(this.running.iv), 1);
      this.running = null;
    }
    if (this.running) this.close(on, null, on);
    for (let i = this.feedback.length - 1; i >= 0; i--) if (this.feedback[i].createdAt.slice(0, 10) >= on) this.feedback.splice(i, 1);
  }

  expanded(on: string): void {
    this.expansions.push(on);
  }

  /** After the last week: a playbook still running stays open with the steps done before today. */
  finish(today: string): void {
    const r = this.running;
    if (!r) return;
    r.iv.stepsDone = this.stepsDoneBy(r, addDays(today, -1));
    r.iv.updatedAt = [r.iv.startedAt, ...r.iv.stepsDone.map((s) => s.doneAt)].sort().at(-1)!;
    this.running = null;
  }

  private start(a: SaasAssignment, v: WeekView, notes: string): void {
    // Started within days (at most 6 with a weekend, so before today: no entry is acted on in the last week).
    const day = workdayFrom(addDays(v.day, this.cs.int(0, 4)));
    if (this.running) this.close(day, a.tier, null);
    const startedAt = this.cs.timeOn(day, 13, 18);
    const playbook = DEFAULT_PLAYBOOKS.find((p) => p.id === a.playbookId)!;
    const steps = playbook.steps.map((s) => {
      const on = workdayFrom(addDays(day, Math.max(0, s.dueDays + this.cs.int(-1, 3))));
      const doneAt = this.cs.timeOn(on, 9, 18);
      return { day: on, doneAt: doneAt < startedAt ? startedAt : doneAt, done: this.cs.chance(STEP_DONE_SHARE) };
    });
    const lastDue = Math.max(...playbook.steps.map((s) => s.dueDays));
    const iv: SaasIntervention = {
      id: `iv_${sha256(`saas-demo|${this.ctx.salt}|${this.account.id}|${a.tier}|${a.period}`).slice(0, 24)}`,
      tier: a.tier,
      period: a.period,
      playbookId: playbook.id,
      playbookVersion: a.playbookVersion,
      owner: this.account.owner,
      startedAt,
      notes,
      status: "open",
      stepsDone: [],
      result: null,
      resultNote: null,
      closedAt: null,
      updatedAt: startedAt,
    };
    this.interventions.push(iv);
    this.running = { iv, entryTier: a.tier, steps, endDay: workdayFrom(addDays(day, lastDue + this.cs.int(5, 14))) };
  }

  private stepsDoneBy(r: Running, day: string): StepDone[] {
    return r.steps.flatMap((s, step) => (s.done && s.day <= day ? [{ step, doneAt: s.doneAt }] : []));
  }

  /** Closes the running playbook on `day`: churned, expanded, retained (a better tier than it entered) or no change. */
  private close(day: string, tier: CsTier | null, churnedOn: string | null): void {
    const r = this.running!;
    this.running = null;
    const iv = r.iv;
    iv.stepsDone = this.stepsDoneBy(r, day >= this.today ? addDays(this.today, -1) : day);
    const last = [iv.startedAt, ...iv.stepsDone.map((s) => s.doneAt)].sort().at(-1)!;
    // An account that churns today (mid-term, in the last week) has its playbook closed at midnight: nothing is stamped later than now.
    const closedAt = day >= this.today ? `${this.today}T00:00:00.000Z` : this.cs.timeOn(day, 14, 18);
    iv.closedAt = closedAt < last ? last : closedAt;
    iv.updatedAt = iv.closedAt;
    iv.status = "completed";
    const expandedOn = this.expansions.find((d) => d >= iv.startedAt.slice(0, 10) && d <= day);
    if (churnedOn) [iv.result, iv.resultNote] = ["churned", `The account churned on ${churnedOn}.`];
    else if (expandedOn) [iv.result, iv.resultNote] = ["expanded", `The account expanded on ${expandedOn}.`];
    else if (tier && BETTER[r.entryTier].includes(tier)) [iv.result, iv.resultNote] = ["retained", `${tier === "blue" ? "Healthy and expansion-ready" : `Back to ${tier}`} by ${day}.`];
    else [iv.result, iv.resultNote] = ["no_change", `Still ${tier ?? r.entryTier} on ${day}.`];
  }

  private maybeFeedback(v: WeekView, tier: CsTier): void {
    if (!this.cs.chance(FEEDBACK_CHANCE[tier]) || v.last) return;
    // The CSM knows the renewal date and reads health with noise: risk at renewal within 90 days, or of cancelling mid-term.
    const perceived = v.health8 + CSM_NOISE * this.cs.normal();
    const renewal = Number(v.signals.days_to_renewal) <= 90 ? sigmoid(RENEWAL_CHURN.intercept + RENEWAL_CHURN.slope * perceived) : 0;
    const midTerm = perceived < -1.5 ? 0.23 : 0.01;
    const day = workdayFrom(addDays(v.day, this.cs.int(0, 3)));
    this.feedback.push({ scoredOn: v.day, createdAt: this.cs.timeOn(day, 13, 18), owner: this.account.owner, csmRisk: Math.round((1 - (1 - renewal) * (1 - midTerm)) * 1000) / 1000, pick: this.cs.int(0, 99) });
  }
}

/** The demo's holdout salt for a seed: 32 hex digits, like the Worker's 16 random bytes, but reproducible. */
export function demoSalt(seed: number): string {
  return sha256(`foresight-saas-demo|${seed}`).slice(0, 32);
}
