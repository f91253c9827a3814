/**
 * Which playbook fits an account, as policy: its portfolio tier and its dominant driver (the
 * driver of its latest score that raises risk the most) pick the most specific current playbook,
 * and the choice is explained in words. Pure, so rescoring, the recommendation route, the
 * trajectory's lead time and the worklist apply the same rule.
 */
import { type CsSignal, recogniseSignal } from "../../shared/cs/signals";
import { humanize } from "../../shared/cs/wording";
import type { LeadDays } from "../../shared/cs/trajectory";
import { PLAYBOOK_TIERS, type PlaybookTier } from "../../shared/db/schema";
import { topRiskDriver } from "../../shared/model/scorer";
import type { PortfolioTier } from "../../shared/tiers";

/** What matching reads of a playbook. */
export interface PlaybookFacts {
  id: string;
  version: number;
  name: string;
  tier: PlaybookTier;
  driver: string | null;
  leadDays: number;
}

/** A driver as stored with a score (or as scored now): its column, value, contribution and phrase. */
export interface DriverFacts {
  feature: string;
  value?: unknown;
  contribution: number;
  phrase?: string;
}

/** How closely a playbook fits: its driver names the column itself, its CS signal, or it covers the whole tier. */
export type Fit = "column" | "signal" | "tier";
const FIT_RANK: Record<Fit, number> = { column: 3, signal: 2, tier: 1 };

export interface Match<P extends PlaybookFacts = PlaybookFacts> {
  /** The chosen playbook, or null (green, or no current playbook for the tier). */
  playbook: P | null;
  fit: Fit | null;
  /** The dominant driver, or null when the score names nothing that raises risk. */
  driver: DriverFacts | null;
  /** The dominant driver's CS signal (logins, tickets, ...), when its column is recognised. */
  signal: CsSignal | null;
  /** Why, in words: the first reason names the tier, the driver and the playbook. */
  reasons: string[];
}

/** Is this portfolio tier one that playbooks cover (red, yellow, blue)? */
export function isPlaybookTier(tier: string | null | undefined): tier is PlaybookTier {
  return (PLAYBOOK_TIERS as readonly string[]).includes(tier ?? "");
}

/** Lowercase letters and digits only: `Logins_30d`, `logins 30d` and `logins30D` are one name. */
function norm(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/**
 * How a playbook's driver fits the dominant driver's column, or null when it does not. A driver
 * names either a column (`logins_30d`, compared without case or punctuation) or a CS signal
 * (`logins`, `tickets`, `adoption`, `sinceQbr`, `renewal`, `contractValue`, `sinceLogin`);
 * `logins` also covers days-since-last-login columns.
 */
export function driverFit(playbookDriver: string, column: string): Exclude<Fit, "tier"> | null {
  const wanted = norm(playbookDriver);
  if (wanted === norm(column)) return "column";
  const signal = recogniseSignal(column);
  if (!signal) return null;
  if (wanted === norm(signal) || (wanted === "logins" && signal === "sinceLogin")) return "signal";
  return null;
}

/** The driver in a reason: its CS signal when recognised ("logins"), else the column in words. */
function driverName(d: DriverFacts, signal: CsSignal | null): string {
  return signal ?? humanize(d.feature);
}

const quoted = (p: PlaybookFacts) => `"${p.name}"`;

/**
 * The most specific current playbook for an account in `tier` whose latest score has `drivers`:
 * one for the tier and the dominant driver's column beats one for its CS signal, which beats one
 * for the whole tier; ties go to the first by id. Green accounts get none.
 *
 * @example
 *   matchPlaybook(playbooks, "red", [{ feature: "logins_30d", value: 8, contribution: 0.9, phrase: "logins fell from 22 to 8 a month" }]);
 *   // { playbook: { id: "red-logins", ... }, fit: "signal", reasons: ["red, and its top driver is logins (logins fell from 22 to 8 a month): ..."] }
 */
export function matchPlaybook<P extends PlaybookFacts>(playbooks: readonly P[], tier: PortfolioTier | null, drivers: readonly DriverFacts[]): Match<P> {
  const driver = topRiskDriver(drivers);
  const signal = driver ? recogniseSignal(driver.feature) : null;
  const about = driver ? `its top driver is ${driverName(driver, signal)}${driver.phrase ? ` (${driver.phrase})` : ""}` : "its latest score names no driver that raises risk";
  if (!isPlaybookTier(tier)) {
    const what = tier ? `${tier}: no playbook applies to ${tier} accounts (playbooks cover red, yellow and blue); keep the regular cadence` : "not scored yet: no tier, so no playbook";
    return { playbook: null, fit: null, driver, signal, reasons: [what] };
  }
  const candidates = playbooks
    .filter((p) => p.tier === tier)
    .map((p) => ({ p, fit: p.driver === null ? ("tier" as const) : driver ? driverFit(p.driver, driver.feature) : null }))
    .filter((c): c is { p: P; fit: Fit } => c.fit !== null)
    .sort((a, b) => FIT_RANK[b.fit] - FIT_RANK[a.fit] || (a.p.id < b.p.id ? -1 : a.p.id > b.p.id ? 1 : 0));
  if (candidates.length === 0) {
    return { playbook: null, fit: null, driver, signal, reasons: [`${tier}, and ${about}: no current playbook applies to ${tier} accounts (create one with POST /v1/playbooks)`] };
  }
  const best = candidates[0];
  const tied = candidates.filter((c) => c.fit === best.fit);
  const general = candidates.find((c) => c.fit === "tier" && c.p !== best.p);
  const reasons: string[] = [];
  if (best.fit === "tier") {
    const targeted = driver ? `; none targets its top driver, ${driverName(driver, signal)}` : "";
    reasons.push(`${tier}, and ${about}: ${quoted(best.p)} is the playbook for ${tier} accounts${targeted}`);
  } else {
    const over = general ? `, chosen over the playbook for every ${tier} account, ${quoted(general.p)}` : "";
    const target = best.fit === "column" ? `the ${driver!.feature} column` : driverName(driver!, signal);
    reasons.push(`${tier}, and ${about}: ${quoted(best.p)} is the ${tier} playbook for ${target}${over}`);
  }
  if (tied.length > 1) reasons.push(`${tied.length} playbooks fit equally well (${tied.map((c) => c.p.id).join(", ")}); the first by id, ${best.p.id}, is used`);
  return { playbook: best.p, fit: best.fit, driver, signal, reasons };
}

/**
 * The lead times with the matched playbook's `leadDays` for its tier: what sets `actBy` for the
 * account. Without a playbook (green, or none current) `base` (ACT_BY_LEAD_DAYS) stands.
 *
 * @example
 *   leadDaysWith({ red: 14, yellow: 14, green: 14, blue: 14 }, match); // { red: 7, ... } for a red playbook with leadDays 7
 */
export function leadDaysWith(base: LeadDays, match: Pick<Match, "playbook">): LeadDays {
  return match.playbook ? { ...base, [match.playbook.tier]: match.playbook.leadDays } : base;
}
