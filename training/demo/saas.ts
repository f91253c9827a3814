/**
 * A synthetic B2B SaaS portfolio with a year of weekly history, for `npm start -- --demo saas`.
 *
 * THIS IS NOT REAL DATA. Every account, signal and outcome is simulated by the process below,
 * deterministically from a seed, so the customer-success features (health trajectories,
 * intervention timing, forecasts, playbooks measured against a holdout) have a history to work on. Its rates are tuned to look
 * plausible, not measured from any company.
 *
 * The dynamics, per account, week by week (26 unrecorded burn-in weeks, then 52 recorded ones
 * ending today):
 * - Segment (SMB 55%, Mid-Market 33%, Enterprise 12%) sets ARR (log-normal around $9k, $42k and
 *   $160k), seats (ARR over a per-seat price), meeting cadence and a baseline health.
 * - A latent health h (not a signal; about 0.45 ± 0.8 across the portfolio) reverts towards a
 *   target each week (15% of the gap, plus noise). The target is the account's baseline plus
 *   shocks that fade: a champion leaves (~12% of accounts a year, −1.6, half-life ~17 weeks),
 *   onboarding success or a new champion (~10% a year, +0.9, half-life ~27 weeks), a bad release
 *   21 weeks before today that hits a quarter of accounts (−1.0 and a ticket spike, half-life
 *   ~5 weeks), and for ~11% of accounts a slow erosion of fit (−0.05 a week for 8–30 weeks).
 * - Relationship: when an unhealthy account (h < −0.5) still holds a meeting or QBR, 30% of
 *   its negative shocks and erosion are undone, so some drifting accounts recover on their own.
 * - Signals drawn from h each week: `logins_30d` (login days of 30, binomial), `feature_adoption`
 *   (share of features used, moving slowly towards a level set by h), `support_tickets_30d`
 *   (Poisson, more for bigger and unhappier accounts), `meetings_90d` (meetings in the last 13
 *   weeks; unhealthy champions take fewer), `days_since_qbr` (QBRs due every ~90 days; the less
 *   healthy the account the likelier it declines one, rebooked a month later, so drifting
 *   accounts go long without one),
 *   `seats`, `seats_used` (user demand grows with health and shrinks without it, capped at
 *   seats), plus `segment` and `days_to_renewal`.
 * - Outcomes: annual contracts renew on a date spread over the year. At the renewal an account
 *   churns with probability sigmoid(−1.8 − 1.8 h̄), h̄ its mean health over the last 8 weeks
 *   (5% at h̄ = 0.6, 14% at 0, 50% at −1); otherwise it renews (and, when h̄ ≥ 0.2 and it uses
 *   ≥ 85% of its seats, expands at the same time with 30%). A very unhealthy account (h < −1.5)
 *   may churn mid-term (2% a week). A healthy account (h ≥ 0.3) using ≥ 92% of its seats expands
 *   mid-term with 6% a week (15–35% more seats, ARR up by the seats' price), at most once every
 *   8 weeks. After churning an account produces no more snapshots.
 * - The CS team (saas-cs.ts) sees each account in a tier by its 4-week mean health h̄₄: red below
 *   −0.7 (at risk), yellow below −0.3, blue when h̄₄ ≥ 0.3 and ≥ 85% of seats are used, else
 *   green. An account entering red, yellow or blue in a recorded week is assigned with the
 *   product's holdout rule (shared/cs/holdout.ts: sha256 of salt, account, tier and month; 10%
 *   control; a 90-day window; held out of every playbook while a control window is live). Red
 *   accounts with ≥ 5 tickets in 30 days get `red-tickets`, other red ones `red-rescue`; yellow
 *   ones whose login days fell by ≥ 5 over 8 weeks `yellow-logins`, others `yellow-engage`; blue
 *   ones `blue-expand`. A treated account's owner starts it within 0–4 days, does ~90% of its
 *   steps around their due days and closes it 5–14 days after the last one (churned, expanded,
 *   retained in a better tier, or no change); a control account gets nothing.
 * - The playbooks' true effect, from the week after one starts: red undoes half of the negative
 *   shocks and erosion and lifts the target by 0.8 (fading 8% a week), yellow a quarter and 0.25,
 *   and blue lowers the mid-term expansion bar to 88% of seats at 9% a week for 8 weeks. Replaying
 *   every closed assignment with the other arm (`saasTrueEffect`; seeds 1, 2, 3, 7, 99, 2026
 *   pooled): red playbooks cut 90-day churn from 10.8% to 8.2% (2.6 points, 24%: about a
 *   quarter), yellow from 6.5% to 5.5% (15%), blue not at all (1.2%); over all assignments from
 *   5.5% to 4.6% (0.9 points, 17%).
 * - Each week draws from its own stream, the decisions' draws first, so an account replayed with
 *   or without a playbook meets the same luck (common random numbers); the CS team's choices and
 *   the owners' use of the product (saas-usage.ts) have streams of their own.
 *
 * The result (seeds 1, 2, 3 and 2026): 10.4–11.4% annual logo churn (12.4–13.3% were every
 * entering account held out; 0.2–0.4% of accounts mid-term), 20.5–23.3% of accounts expanding in
 * the year, 14–16% drifting from healthy (h ≥ 0.3) to at risk (h < −0.7) and 15–16.5% recovering
 * from at risk to healthy (10–11.5% without playbooks) (`saasRates` in saas-stats.ts).
 */
import { addDays, daysBetween } from "../../shared/days";
import type { OutcomeType, Signals } from "../../shared/db/schema";
import { BOOSTED_EXPANSION, type CsContext, CsTeam, csTier, type CsTier, demoSalt, HOLDOUT_SHARE, LIFT_FADE, type PlaybookEffect, RENEWAL_CHURN, type SaasAssignment, type SaasFeedback, type SaasIntervention } from "./saas-cs";
import { clamp, Draws, mean, round2, sigmoid, STREAM_CS, weekStream } from "./saas-draws";
import { type SaasUsage, simulateUsage } from "./saas-usage";

export type Segment = "SMB" | "Mid-Market" | "Enterprise";

/** One week's signals as recorded, with the latent health they were drawn from (never a signal). */
export interface SaasSnapshot {
  asOf: string;
  signals: Signals;
  health: number;
  /** The tier the CS team saw the account in that week (from its 4-week mean health; see saas-cs.ts). */
  csTier: CsTier;
}

export interface SaasOutcome {
  type: OutcomeType;
  date: string;
  /** ARR renewed, ARR added by an expansion, or null for a churn. */
  amount: number | null;
  note: string;
}

export type ShockKind = "champion-left" | "onboarding-success" | "bad-release" | "fit-erosion" | "intervention" | "playbook";

export interface SaasAccount {
  id: string;
  name: string;
  segment: Segment;
  owner: string;
  /** ARR now: after any expansion, or when it churned. */
  arr: number;
  startArr: number;
  /** The next renewal after today, or the renewal at which it churned. */
  renewalDate: string;
  snapshots: SaasSnapshot[];
  outcomes: SaasOutcome[];
  churnedOn: string | null;
  /** Healthy in some recorded week and at risk in a later one. */
  drifted: boolean;
  /** At risk in some recorded week and healthy again in a later one. */
  recovered: boolean;
  /** What happened to it during the recorded year, dated. */
  events: { date: string; kind: ShockKind }[];
  /** Its holdout assignments, oldest first, and the interventions its treated ones got. */
  assignments: SaasAssignment[];
  interventions: SaasIntervention[];
  /** CSM verdicts to come on some of its past weekly scores. */
  feedback: SaasFeedback[];
}

export interface SaasPortfolio {
  seed: number;
  today: string;
  /** The 52 weekly snapshot dates, oldest first; the last is today. */
  weeks: string[];
  accounts: SaasAccount[];
  /** The holdout's salt (stored in `settings` as the Worker's) and share. */
  salt: string;
  holdoutShare: number;
  /** Each owner's use of predictive insights over the last weeks (`owner_usage`). */
  usage: SaasUsage[];
}

export interface SaasOptions {
  /** Accounts to generate (default 3,000). */
  accounts?: number;
  seed?: number;
  /** The last snapshot's date, YYYY-MM-DD (default today, UTC). */
  today?: string;
  /** The share of entering accounts held out of playbooks (default 0.1, as HOLDOUT_SHARE). */
  holdoutShare?: number;
  /** The holdout's salt (default: derived from the seed). */
  salt?: string;
}

/** Latent health at or above this is healthy; below AT_RISK is at risk (drift and recovery use both). */
export const HEALTHY = 0.3;
export const AT_RISK = -0.7;
export const WEEKS = 52;
export const DEFAULT_SEED = 2026;
const BURN_IN = 26;
const RELEASE_WEEK = 30;

const SEGMENTS: Record<Segment, { share: number; arr: number; sigma: number; seatPrice: number; health: number; meetings: number; owners: string[] }> = {
  SMB: { share: 0.55, arr: 9_000, sigma: 0.55, seatPrice: 360, health: 0.35, meetings: 0.08, owners: ["Devon Reyes", "Emerson Falk", "Finley Moreau"] },
  "Mid-Market": { share: 0.33, arr: 42_000, sigma: 0.5, seatPrice: 420, health: 0.6, meetings: 0.15, owners: ["Blake Okafor", "Casey Novak", "Harper Lindqvist"] },
  Enterprise: { share: 0.12, arr: 160_000, sigma: 0.55, seatPrice: 480, health: 0.8, meetings: 0.3, owners: ["Avery Chen", "Jordan Mensah"] },
};

const NAME_HEADS = ["North", "Blue", "Bright", "Cedar", "Clear", "Copper", "Delta", "Ever", "Granite", "Harbor", "Iron", "Lumen", "Maple", "Nova", "Oak", "Orbit", "Pine", "Quarry", "River", "Silver", "Summit", "Terra", "Vertex", "Willow"];
const NAME_TAILS = ["wind", "path", "stone", "field", "line", "bridge", "peak", "works", "light", "gate"];
const NAME_KINDS = ["Analytics", "Logistics", "Health", "Labs", "Systems", "Foods", "Robotics", "Media", "Energy", "Finance", "Studios", "Retail"];

function segmentOf(r: Draws): Segment {
  const u = r.next();
  return u < SEGMENTS.SMB.share ? "SMB" : u < SEGMENTS.SMB.share + SEGMENTS["Mid-Market"].share ? "Mid-Market" : "Enterprise";
}

/**
 * One account's year: the weekly process described at the top of this file. `cs` sets the
 * holdout (and, for the true effect's counterfactuals, forces one assignment's arm).
 */
export function simulateAccount(seed: number, index: number, weeks: string[], cs: Omit<CsContext, "seed">): SaasAccount {
  const r = new Draws(seed, index);
  const segment = segmentOf(r);
  const seg = SEGMENTS[segment];
  const today = weeks[WEEKS - 1];
  const startArr = Math.round(seg.arr * Math.exp(seg.sigma * r.normal()));
  let seats = Math.max(3, Math.round(startArr / seg.seatPrice));
  const seatPrice = startArr / seats;
  let arr = startArr;
  const account: SaasAccount = {
    id: `SAAS-${String(index + 1).padStart(5, "0")}`,
    name: `${r.pick(NAME_HEADS)}${r.pick(NAME_TAILS)} ${r.pick(NAME_KINDS)}`,
    segment,
    owner: r.pick(seg.owners),
    arr,
    startArr,
    renewalDate: "",
    snapshots: [],
    outcomes: [],
    churnedOn: null,
    drifted: false,
    recovered: false,
    events: [],
    assignments: [],
    interventions: [],
    feedback: [],
  };
  const team = new CsTeam(account, { seed, ...cs }, new Draws(seed, index, STREAM_CS), today);
  // The contract anniversary inside the recorded year (a few fall in the week after today).
  const renewal = addDays(weeks[0], r.int(1, 365));
  const renewalWeek = renewal > today ? -1 : Math.floor(daysBetween(weeks[0], renewal) / 7);
  account.renewalDate = renewal;

  const baseline = seg.health + 0.6 * r.normal();
  const erosion = r.chance(0.11) ? { from: r.int(-10, 45), weeks: r.int(8, 30) } : null;
  const releaseHit = r.chance(0.25);
  let h = baseline + 0.4 * r.normal();
  let trend = 0;
  let negative = 0;
  let positive = 0;
  let release = 0;
  let adoption = clamp(sigmoid(-0.3 + 1.1 * h) * 0.95, 0.02, 1);
  let demand = seats * (0.4 + 0.5 * r.next());
  const meetings: number[] = [];
  let lastQbrDay = -BURN_IN * 7 - r.int(0, 60);
  let qbrDue = -BURN_IN + r.int(0, 12);
  let lastExpansion = -Infinity;
  let wasHealthy = false;
  let wasAtRisk = false;
  const healthWindow: number[] = [];
  // The CS team's view (the last 4 weeks' health) and what a playbook does (saas-cs.ts).
  const recent: number[] = [];
  let lift = 0;
  let boostWeeks = 0;
  let started: PlaybookEffect | null = null;
  const note = (t: number, kind: ShockKind) => {
    if (t >= 0) account.events.push({ date: weeks[t], kind });
  };

  for (let t = -BURN_IN; t < WEEKS; t++) {
    // Each week draws from its own stream, the decisions' draws first: replayed with or without a
    // playbook, an account meets the same luck each week (common random numbers; saas-stats.ts).
    const w = new Draws(seed, index, weekStream(t));
    const u = { champion: w.next(), onboarding: w.next(), met: w.next(), qbr: w.next(), churn: w.next(), midTerm: w.next(), expand: w.next() };
    const noise = { health: w.normal(), adoption: w.normal(), demand: w.normal() };
    // Shocks and erosion move the target; they fade at their own half-lives.
    negative *= 0.96;
    positive *= 0.975;
    release *= 0.87;
    lift *= LIFT_FADE;
    if (started) {
      negative *= 1 - started.undo;
      trend *= 1 - started.undo;
      lift += started.lift;
      boostWeeks = Math.max(boostWeeks, started.expansionWeeks);
      note(t, "playbook");
      started = null;
    }
    if (u.champion < 0.0025) {
      negative -= 1.6;
      note(t, "champion-left");
    }
    if (u.onboarding < 0.002) {
      positive += 0.9;
      note(t, "onboarding-success");
    }
    if (t === RELEASE_WEEK && releaseHit) {
      release -= 1.0;
      note(t, "bad-release");
    }
    if (erosion && t >= erosion.from && t < erosion.from + erosion.weeks) {
      if (t === erosion.from) note(t, "fit-erosion");
      trend -= 0.05;
    }
    h += 0.15 * (baseline + trend + negative + positive + release + lift - h) + 0.2 * noise.health;

    // Relationship: weekly meetings and the quarterly business review, both rarer when unhealthy.
    const met = u.met < seg.meetings * 1.6 * sigmoid(1 + 1.2 * h) ? 1 : 0;
    meetings.push(met);
    if (meetings.length > 13) meetings.shift();
    let qbr = false;
    if (t >= qbrDue) {
      qbr = u.qbr < sigmoid((segment === "SMB" ? 0.3 : 0.8) + 2 * h);
      // A declined QBR is rebooked a month later.
      qbrDue = qbr ? t + 13 : t + 4;
      if (qbr) lastQbrDay = t * 7 + w.int(-6, 0);
    }
    if (h < -0.5 && (met || qbr)) {
      negative *= 0.7;
      trend *= 0.7;
      note(t, "intervention");
    }

    // Signals drawn from health (the snapshot is taken at the end of the week).
    adoption = clamp(adoption + 0.1 * (sigmoid(-0.3 + 1.1 * h) * 0.95 - adoption) + 0.01 * noise.adoption, 0.02, 1);
    demand *= Math.exp(0.007 * (h - 0.4) + 0.02 * noise.demand);
    const seatsUsed = clamp(Math.round(demand), 1, seats);
    recent.push(h);
    if (recent.length > 4) recent.shift();
    const tier = csTier(mean(recent), seatsUsed / seats, AT_RISK, HEALTHY);
    if (t < 0) {
      team.burnIn(tier);
      continue;
    }
    const date = weeks[t];
    const nextRenewal = date <= renewal ? renewal : addDays(renewal, 365);
    const signals: Signals = {
      segment,
      logins_30d: w.binomial(30, sigmoid(0.9 + 1.2 * h)),
      feature_adoption: round2(adoption),
      support_tickets_30d: w.poisson((0.6 + 0.25 * Math.log(seats)) * Math.exp(-0.45 * h) * (1 - 2 * release)),
      meetings_90d: meetings.reduce((a, b) => a + b, 0),
      days_since_qbr: t * 7 - lastQbrDay,
      seats,
      seats_used: seatsUsed,
      days_to_renewal: daysBetween(date, nextRenewal),
    };
    account.snapshots.push({ asOf: date, signals, health: round2(h), csTier: tier });
    if (h >= HEALTHY) {
      if (wasAtRisk) account.recovered = true;
      wasHealthy = true;
    } else if (h < AT_RISK) {
      if (wasHealthy) account.drifted = true;
      wasAtRisk = true;
    }
    healthWindow.push(h);
    if (healthWindow.length > 8) healthWindow.shift();
    const before = t >= 8 ? Number(account.snapshots[t - 8].signals.logins_30d) : null;
    started = team.week({ day: date, last: t === WEEKS - 1, health8: mean(healthWindow), signals, loginsBefore: before, arr }, tier);

    const expand = (on: string, share: number, why: string) => {
      const added = Math.max(1, Math.round(seats * share));
      const amount = Math.round(added * seatPrice);
      seats += added;
      arr += amount;
      lastExpansion = t;
      team.expanded(on);
      account.outcomes.push({ type: "expanded", date: on, amount, note: `+${added} seats (${why})` });
    };
    if (t === renewalWeek) {
      const h8 = mean(healthWindow);
      if (u.churn < sigmoid(RENEWAL_CHURN.intercept + RENEWAL_CHURN.slope * h8)) {
        account.churnedOn = renewal;
        account.outcomes.push({ type: "churned", date: renewal, amount: null, note: "did not renew" });
        team.churned(renewal);
        break;
      }
      account.outcomes.push({ type: "renewed", date: renewal, amount: arr, note: "annual renewal" });
      account.renewalDate = addDays(renewal, 365);
      if (h8 >= 0.2 && seatsUsed / seats >= 0.85 && u.expand < 0.3) expand(renewal, 0.15 + 0.2 * w.next(), "at renewal");
      continue;
    }
    if (h < -1.5 && u.midTerm < 0.02) {
      const on = t === WEEKS - 1 ? date : addDays(date, w.int(1, 6));
      account.churnedOn = on;
      account.outcomes.push({ type: "churned", date: on, amount: null, note: "cancelled mid-term" });
      account.renewalDate = renewal > on ? renewal : addDays(renewal, 365);
      team.churned(on);
      break;
    }
    // No expansion in the last week: its seats would postdate today's snapshot. An expansion playbook lowers the bar.
    const boosted = boostWeeks > 0;
    if (boosted) boostWeeks--;
    if (t < WEEKS - 1 && h >= HEALTHY && seatsUsed / seats >= (boosted ? BOOSTED_EXPANSION.seatShare : 0.92) && t - lastExpansion >= 8 && u.expand < (boosted ? BOOSTED_EXPANSION.weekly : 0.06)) {
      expand(addDays(date, w.int(1, 6)), 0.15 + 0.2 * w.next(), "out of seats");
    }
  }
  team.finish(today);
  account.arr = arr;
  account.assignments = team.assignments;
  account.interventions = team.interventions;
  account.feedback = team.feedback;
  return account;
}

/**
 * Generates the portfolio; the same seed, size and `today` always give the same accounts.
 *
 * @example
 *   const p = generateSaasPortfolio({ accounts: 3000, seed: 2026 });
 *   p.accounts[0].snapshots.at(-1)?.signals.logins_30d; // login days in the 30 days to today
 */
export function generateSaasPortfolio(o: SaasOptions = {}): SaasPortfolio {
  const n = o.accounts ?? 3000;
  const seed = o.seed ?? DEFAULT_SEED;
  const today = o.today ?? new Date().toISOString().slice(0, 10);
  const weeks = saasWeeks(today);
  const salt = o.salt ?? demoSalt(seed);
  const holdoutShare = o.holdoutShare ?? HOLDOUT_SHARE;
  const accounts = Array.from({ length: n }, (_, i) => simulateAccount(seed, i, weeks, { salt, share: holdoutShare }));
  return { seed, today, weeks, accounts, salt, holdoutShare, usage: simulateUsage(seed, today, accounts) };
}

/** The 52 weekly snapshot days ending `today`, oldest first. */
export function saasWeeks(today: string): string[] {
  return Array.from({ length: WEEKS }, (_, t) => addDays(today, -7 * (WEEKS - 1 - t)));
}
