/**
 * The numbers a customer-success lead reads after training or evaluating a model: the risk
 * tier table (how many accounts land in red/yellow/green and how many of them really churned)
 * and plain-text tables for the terminal.
 */
import { DEFAULT_TIERS, riskTier, type TierThresholds } from "../shared/model/artifact";
import { RISK_TIERS, type RiskTier } from "../shared/tiers";

/** One risk tier's row: accounts in it, their churn rate (precision) and the churn it catches. */
export interface TierRow {
  tier: RiskTier;
  /** Probability range in words, e.g. `>= 0.70`, `0.40-0.69`, `< 0.40`. */
  range: string;
  accounts: number;
  share: number;
  /** Accounts in the tier that did churn (the positive label). */
  positives: number;
  /** Churn rate within the tier; null for an empty tier. */
  precision: number | null;
  /** Share of all churned accounts that fall in this tier; null when no account churned. */
  recall: number | null;
}

/** Buckets probabilities into red/yellow/green under `tiers` and scores each bucket. */
export function tierTable(labels: ArrayLike<number>, probabilities: ArrayLike<number>, tiers: TierThresholds = DEFAULT_TIERS): TierRow[] {
  const order: readonly RiskTier[] = RISK_TIERS;
  const accounts = { red: 0, yellow: 0, green: 0 };
  const positives = { red: 0, yellow: 0, green: 0 };
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const t = riskTier(probabilities[i], tiers);
    accounts[t]++;
    if (labels[i] === 1) {
      positives[t]++;
      total++;
    }
  }
  const f = (v: number) => v.toFixed(2);
  const below = (v: number) => f(Math.max(0, v - 0.01));
  const range = { red: `>= ${f(tiers.red)}`, yellow: `${f(tiers.yellow)}-${below(tiers.red)}`, green: `< ${f(tiers.yellow)}` };
  return order.map((tier) => ({
    tier,
    range: range[tier],
    accounts: accounts[tier],
    share: labels.length ? accounts[tier] / labels.length : 0,
    positives: positives[tier],
    precision: accounts[tier] ? positives[tier] / accounts[tier] : null,
    recall: total ? positives[tier] / total : null,
  }));
}

/** Left-aligned text columns (right-aligned where `right[j]`), two spaces apart. */
export function formatTable(header: string[], rows: string[][], right: boolean[] = []): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, j) => (right[j] ? c.padStart(widths[j]) : c.padEnd(widths[j])))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].map((l) => `  ${l}`).join("\n");
}

/** `key  value` lines with the keys padded to one width. */
export function formatPairs(pairs: [string, string][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n");
}

/** A percentage with one decimal, or `n/a`. */
export function percent(v: number | null | undefined): string {
  return v === null || v === undefined || Number.isNaN(v) ? "n/a" : `${(v * 100).toFixed(1)}%`;
}

/** A number to `digits` decimals, or `n/a`. */
export function fixed(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || Number.isNaN(v) ? "n/a" : v.toFixed(digits);
}

/** An integer with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** The tier table as text. */
export function formatTiers(rows: TierRow[]): string {
  return formatTable(
    ["tier", "probability", "accounts", "share", "churn rate (precision)", "recall"],
    rows.map((r) => [r.tier, r.range, count(r.accounts), percent(r.share), `${percent(r.precision)} (${count(r.positives)})`, percent(r.recall)]),
    [false, false, true, true, true, true],
  );
}

/** The four hold-out quality numbers as text, with what each means. */
export function formatQuality(m: { auc: number; prAuc: number; brier: number; logLoss: number; baseRate: number }): string {
  return formatTable(
    ["metric", "value", "meaning"],
    [
      ["ROC-AUC", fixed(m.auc), "chance a churner ranks above a stayer (0.5 = coin flip)"],
      ["PR-AUC", fixed(m.prAuc), `average precision; the base rate ${fixed(m.baseRate)} is what guessing gets`],
      ["Brier", fixed(m.brier), "mean squared error of the probabilities (lower is better)"],
      ["Log loss", fixed(m.logLoss), "penalises confident wrong probabilities (lower is better)"],
    ],
    [false, true, false],
  );
}
