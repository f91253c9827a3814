/**
 * The digest's sections from the rows of their queries (queries.ts) and the reports they reuse
 * (impact, adoption, monitoring), apart from any I/O: the figures, the accounts listed per owner,
 * the comparison with the previous digest, and each section's sentence.
 */
import { recogniseSignal } from "../../shared/cs/signals";
import { humanize } from "../../shared/cs/wording";
import type { RiskTier } from "../../shared/tiers";
import { money } from "../accounts/portfolio";
import type { Adoption } from "../adoption/schemas";
import type { ImpactReport } from "../impact/report";
import type { PerformanceEntry } from "../monitoring/job";
import { summarise } from "../monitoring/performance";
import type { AdoptionSection, ExpansionReady, ImpactSection, ModelHealth, RedDriver, RedDrivers, Section, TierMoves } from "./schemas";

/** A row of TIER_MOVES_SQL. */
export interface MovePairRow {
  from_tier: RiskTier;
  to_tier: RiskTier;
  accounts: number;
  arr: number;
}

/** What every listing query returns per account: its place among its owner's (`n`) and the owner's count. */
interface ListedRow {
  id: string;
  name: string | null;
  owner: string | null;
  arr: number | null;
  n: number;
  owner_accounts: number;
}

/** A row of TIER_MOVES_LIST_SQL. */
export interface MovedRow extends ListedRow {
  from_tier: RiskTier;
  to_tier: RiskTier;
  churn_probability: number | null;
}

/** A row of RED_DRIVERS_SQL. */
export interface RedDriverRow {
  feature: string | null;
  accounts: number;
  arr: number;
}

/** A row of EXPANSION_READY_SQL. */
export interface ReadyRow extends ListedRow {
  expansion_probability: number | null;
  reason: string | null;
  accounts: number;
  total_arr: number;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const pct = (v: number) => `${Math.round(v * 100)}%`;
const round4 = (v: number) => Number(v.toFixed(4));

/** Rows ordered by owner and rank, grouped per owner (by name, no owner last), with how many more each has. */
function byOwner<R extends ListedRow, A>(rows: readonly R[], entry: (r: R) => A): { owner: string | null; accounts: A[]; more: number }[] {
  const groups = new Map<string | null, { owner: string | null; accounts: A[]; total: number }>();
  for (const r of rows) {
    const g = groups.get(r.owner) ?? { owner: r.owner, accounts: [], total: r.owner_accounts };
    g.accounts.push(entry(r));
    groups.set(r.owner, g);
  }
  return [...groups.values()]
    .sort((a, b) => (a.owner === null ? 1 : b.owner === null ? -1 : a.owner.localeCompare(b.owner)))
    .map((g) => ({ owner: g.owner, accounts: g.accounts, more: g.total - g.accounts.length }));
}

/**
 * Accounts that ended the week in another risk tier than they began it in, per (from → to) and per
 * owner; those that moved and came back are counted as `returned`.
 */
export function tierMovesSection(week: string, pairs: readonly MovePairRow[], listed: readonly MovedRow[]): TierMoves {
  const moves = pairs.filter((p) => p.from_tier !== p.to_tier).map((p) => ({ from: p.from_tier, to: p.to_tier, accounts: p.accounts, arr: p.arr }));
  const returned = pairs.filter((p) => p.from_tier === p.to_tier).reduce((n, p) => n + p.accounts, 0);
  const accounts = moves.reduce((n, m) => n + m.accounts, 0);
  const arr = moves.reduce((n, m) => n + m.arr, 0);
  const back = returned ? ` ${plural(returned, "more account")} moved and ended the week where ${returned === 1 ? "it" : "they"} started.` : "";
  const text = accounts
    ? `${plural(accounts, "account")} (${money(arr)} ARR) ended ${week} in another risk tier: ${moves.map((m) => `${m.accounts} ${m.from} → ${m.to} (${money(m.arr)})`).join(", ")}.${back}`
    : `No account ended ${week} in another risk tier than it began it in.${back}`;
  return {
    id: "tier-moves",
    title: "Accounts that moved tiers",
    query: "insights-tier-moves",
    text,
    accounts,
    arr,
    moves,
    returned,
    owners: byOwner(listed, (r) => ({ id: r.id, name: r.name, arr: r.arr, from: r.from_tier, to: r.to_tier, churnProbability: r.churn_probability })),
  };
}

function driverLabel(feature: string | null): string {
  return feature === null ? "no risk-raising driver" : humanize(feature);
}

/**
 * The share of red ARR whose top risk-raising driver is each feature, against the previous stored
 * digest's shares (none for the first digest). A driver missing from one side had no red ARR there.
 */
export function redDriversSection(rows: readonly RedDriverRow[], previous: { week: string; section: RedDrivers } | null): RedDrivers {
  const redAccounts = rows.reduce((n, r) => n + r.accounts, 0);
  const redArr = rows.reduce((n, r) => n + r.arr, 0);
  const before = new Map((previous?.section.drivers ?? []).map((d) => [d.feature, d.share]));
  const hadRed = previous !== null && previous.section.redArr > 0;
  const entry = (feature: string | null, accounts: number, arr: number): RedDriver => {
    const share = redArr > 0 ? round4(arr / redArr) : null;
    const previousShare = hadRed ? (before.get(feature) ?? 0) : null;
    return {
      feature,
      signal: feature === null ? null : recogniseSignal(feature),
      label: driverLabel(feature),
      accounts,
      arr,
      share,
      previousShare,
      change: share !== null && previousShare !== null ? round4(share - previousShare) : null,
    };
  };
  const now = new Set(rows.map((r) => r.feature));
  const drivers = [
    ...rows.map((r) => entry(r.feature, r.accounts, r.arr)),
    ...(previous?.section.drivers ?? []).filter((d) => !now.has(d.feature) && (d.share ?? 0) > 0).map((d) => entry(d.feature, 0, 0)),
  ].sort((a, b) => (b.share ?? -1) - (a.share ?? -1) || b.arr - a.arr || a.label.localeCompare(b.label));

  const versus = (d: RedDriver) => {
    if (d.previousShare === null || d.share === null) return "";
    const up = Math.round(d.share * 100) - Math.round(d.previousShare * 100);
    return up > 0 ? `, up from ${pct(d.previousShare)}` : up < 0 ? `, down from ${pct(d.previousShare)}` : `, as in ${previous!.week}`;
  };
  let text: string;
  if (redAccounts === 0) text = "No account is red.";
  else if (redArr === 0) text = `${plural(redAccounts, "red account")}, none with ARR recorded, so no shares of red ARR.`;
  else {
    const top = drivers.filter((d) => (d.share ?? 0) > 0).slice(0, 3);
    const parts = top.map((d, i) => `${d.label} ${i === 0 ? `${d.feature === null ? "is" : "drives"} ` : ""}${pct(d.share!)}${i === 0 ? " of red ARR" : ""}${versus(d)}`);
    const riser = drivers.filter((d) => (d.change ?? 0) > 0 && !top.includes(d)).sort((a, b) => b.change! - a.change!)[0];
    const rising = riser ? ` Growing fastest: ${riser.label}, ${pct(riser.share!)} from ${pct(riser.previousShare!)}.` : "";
    const against = previous ? ` (against ${previous.week})` : " (the first digest: nothing to compare with yet)";
    text = `${plural(redAccounts, "red account")}, ${money(redArr)} ARR, by the top risk-raising driver of each one's current score: ${parts.join("; ")}${against}.${rising}`;
  }
  return { id: "red-drivers", title: "What drives red ARR", query: "insights-red-drivers", text, redAccounts, redArr, comparedWith: previous?.week ?? null, drivers };
}

/** Accounts that turned expansion-ready (blue) during the week, per owner. */
export function expansionReadySection(week: string, rows: readonly ReadyRow[]): ExpansionReady {
  const accounts = rows[0]?.accounts ?? 0;
  const arr = rows[0]?.total_arr ?? 0;
  const text = accounts ? `${plural(accounts, "account")} (${money(arr)} ARR) turned expansion-ready in ${week}.` : `No account turned expansion-ready in ${week}.`;
  return {
    id: "expansion-ready",
    title: "Newly expansion-ready",
    query: "insights-expansion-ready",
    text,
    accounts,
    arr,
    owners: byOwner(rows, (r) => ({ id: r.id, name: r.name, arr: r.arr, expansionProbability: r.expansion_probability, reason: r.reason })),
  };
}

/** Impact so far: the headline figures of `impactReport` and its summary sentence. */
export function impactSection(r: ImpactReport): ImpactSection {
  const { from, to, asOf, treated, control, method, uplift, relativeImprovement, arrProtected, pendingAccounts, summary } = r;
  const pending = pendingAccounts ? ` ${plural(pendingAccounts, "assignment")} ${pendingAccounts === 1 ? "is" : "are"} still inside ${pendingAccounts === 1 ? "its" : "their"} outcome window.` : "";
  return {
    id: "impact",
    title: "Impact so far",
    query: "impact",
    text: `Assignments from ${from} to ${to}: ${summary}${pending}`,
    from,
    to,
    asOf,
    treated,
    control,
    method,
    uplift,
    relativeImprovement,
    arrProtected,
    pendingAccounts,
    summary,
  };
}

/** Adoption at the week's end, with the owners below the bar named. */
export function adoptionSection(a: Adoption): AdoptionSection {
  const below = a.owners
    .filter((o) => o.activeDays < a.minActiveDays)
    .sort((x, y) => x.activeDays - y.activeDays || x.owner.localeCompare(y.owner))
    .map((o) => ({ owner: o.owner, activeDays: o.activeDays, accounts: o.accounts }));
  const named = below.slice(0, 10).map((o) => `${o.owner} (${o.activeDays})`);
  const list = below.length ? ` Below ${a.minActiveDays} of ${a.workdays.length} days: ${named.join(", ")}${below.length > named.length ? ` and ${below.length - named.length} more` : ""}.` : "";
  const { asOf, workdays, minActiveDays, share, activeOwners, ownerCount } = a;
  return { id: "adoption", title: "Adoption", query: "insights-adoption", text: `${a.summary}${list}`, asOf, workdays, minActiveDays, share, activeOwners, ownerCount, below };
}

/** The active churn model's latest monitoring, or why there is none. */
export function modelHealthSection(version: string | null, entry: PerformanceEntry | null): ModelHealth {
  const none = { computedAt: null, scoresEvaluated: null, auc: null, brier: null, precisionAtRed: null, recallAtRed: null, maxFeaturePsi: null, predictionPsi: null, alerts: [], topDrift: [] };
  const head = { id: "model-health" as const, title: "Model health", query: "insights-model-health" as const, modelVersion: version };
  if (version === null) return { ...head, ...none, monitored: false, text: "No churn model is active, so there is nothing to monitor yet." };
  if (entry === null) {
    return {
      ...head,
      ...none,
      monitored: false,
      text: `Monitoring has not run yet for ${version}: it runs daily at 03:17 UTC, or now with POST /v1/models/${version}/performance/compute.`,
    };
  }
  const { computedAt, scoresEvaluated, auc, brier, precisionAtRed, recallAtRed, maxFeaturePsi, predictionPsi, alerts } = entry;
  const topDrift = Object.entries(entry.featurePsi ?? {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([feature, psi]) => ({ feature, psi }));
  return {
    ...head,
    monitored: true,
    text: `${version}, as monitored at ${computedAt}: ${summarise(entry)}`,
    computedAt,
    scoresEvaluated,
    auc,
    brier,
    precisionAtRed,
    recallAtRed,
    maxFeaturePsi,
    predictionPsi,
    alerts,
    topDrift,
  };
}

/** The red-drivers section of a stored digest, if it has one. */
export function redDriversOf(sections: readonly unknown[]): RedDrivers | null {
  return (sections as Section[]).find((s): s is RedDrivers => s?.id === "red-drivers") ?? null;
}
