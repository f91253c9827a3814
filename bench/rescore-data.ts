/**
 * Synthetic B2B SaaS accounts for `npm run bench:rescore`: the customer-success signals a CS team
 * exports (plan, seats and their use, logins, adoption, tickets, NPS and CSAT with gaps, days to
 * renewal, ARR, payment failures ...), deterministic per account index, so every run and every
 * size sees the same portfolio. A labelled sample (same generator, its own seed) trains the model
 * the bench scores with, so the signals always match the model's features.
 */
import { toCsv } from "../shared/csv";
import type { Signals } from "../shared/db/schema";
import { sigmoid } from "../shared/model/sigmoid";
import { mulberry32 } from "../training/split";

export const PLANS = ["starter", "team", "business", "enterprise"] as const;
const REGIONS = ["NA", "EMEA", "APAC", "LATAM"] as const;
const SEAT_PRICE: Record<(typeof PLANS)[number], number> = { starter: 180, team: 360, business: 540, enterprise: 900 };

export interface SyntheticAccount {
  id: string;
  name: string;
  arr: number;
  owner: string;
  renewalDate: string;
  features: Signals;
  /** Churn drawn from the true risk (labelled sample only). */
  churned: boolean;
}

const OWNERS = ["Avery Chen", "Blake Okafor", "Casey Novak", "Devon Reyes", "Emerson Falk", "Frankie Ito", "Gray Mensah", "Harper Lund"];

/** Account ids sort in index order: `ACC-0000042`. */
export function accountId(i: number): string {
  return `ACC-${String(i).padStart(7, "0")}`;
}

/**
 * Account `i` of the portfolio drawn with `seed`: the same arguments always give the same account.
 *
 * @example
 *   const a = syntheticAccount(42, 1); // a.features.logins_30d, a.arr, ...
 */
export function syntheticAccount(i: number, seed: number, today = new Date("2026-11-22T00:00:00Z")): SyntheticAccount {
  const random = mulberry32((Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca6b)) >>> 0);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const pick = <T>(xs: readonly T[], weights: number[]): T => {
    let u = random() * weights.reduce((a, w) => a + w, 0);
    for (let k = 0; k < xs.length; k++) if ((u -= weights[k]) <= 0) return xs[k];
    return xs[xs.length - 1];
  };
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));
  const round = (v: number, d = 0) => Math.round(v * 10 ** d) / 10 ** d;

  const plan = pick(PLANS, [0.4, 0.3, 0.2, 0.1]);
  const planLevel = PLANS.indexOf(plan);
  const seats = Math.max(1, Math.round(Math.exp(1.8 + 0.8 * planLevel + 0.7 * normal())));
  const engagement = normal(); // the latent health the signals share
  const seatUse = clamp(0.65 + 0.18 * engagement + 0.12 * normal(), 0.02, 1);
  const activeUsers = Math.max(0, Math.round(seats * seatUse));
  const logins = clamp(Math.round(16 + 7 * engagement + 4 * normal()), 0, 30);
  const daysSinceLogin = logins === 0 ? Math.round(30 + 60 * random()) : Math.max(0, Math.round(Math.exp(1 - 0.6 * engagement + 0.5 * normal())));
  const adoption = clamp(round(0.45 + 0.15 * engagement + 0.1 * planLevel / 3 + 0.12 * normal(), 3), 0, 1);
  const integrations = Math.max(0, Math.round(1 + planLevel + engagement + normal()));
  const tickets = Math.max(0, Math.round(2 + seats / 40 + 1.5 * normal() - 0.8 * engagement));
  const sev1 = random() < 0.06 + 0.04 * Math.max(0, -engagement) ? 1 + Math.floor(random() * 3) : 0;
  const nps = random() < 0.25 ? null : clamp(Math.round(7 + 1.6 * engagement + 1.5 * normal()), 0, 10);
  const csat = random() < 0.35 ? null : clamp(round(4 + 0.4 * engagement + 0.5 * normal(), 1), 1, 5);
  const contractMonths = pick([1, 12, 24, 36], [0.35 - 0.05 * planLevel, 0.45, 0.12 + 0.03 * planLevel, 0.08 + 0.02 * planLevel]);
  const daysToRenewal = contractMonths === 1 ? Math.floor(random() * 30) : Math.floor(random() * contractMonths * 30.4);
  const daysSinceQbr = planLevel >= 2 ? Math.round(30 + 90 * random() - 20 * engagement) : null;
  const mrrChange = round(clamp(0.02 + 0.05 * engagement + 0.08 * normal(), -0.6, 0.8), 3);
  const paymentFailures = random() < 0.08 ? 1 + Math.floor(random() * 3) : 0;
  const trial = random() < 0.05 ? "yes" : "no";
  const region = pick(REGIONS, [0.45, 0.3, 0.18, 0.07]);
  const arr = round(seats * SEAT_PRICE[plan] * (0.8 + 0.4 * random()) * (1 + mrrChange), 2);

  const features: Signals = {
    plan,
    seats,
    active_users_30d: activeUsers,
    seat_utilization: round(activeUsers / seats, 3),
    logins_30d: logins,
    days_since_last_login: daysSinceLogin,
    feature_adoption: adoption,
    integrations,
    tickets_90d: tickets,
    sev1_tickets_90d: sev1,
    nps,
    csat,
    contract_months: contractMonths,
    days_to_renewal: daysToRenewal,
    days_since_qbr: daysSinceQbr,
    mrr_change_90d: mrrChange,
    payment_failures_90d: paymentFailures,
    is_trial: trial,
    region,
    arr,
  };
  // The true risk: engagement, support pain, renewal pressure and interactions trees can find
  // (a month-to-month contract near renewal with low use; payment failures on small plans).
  const z =
    -1.6 -
    0.11 * (logins - 16) +
    0.03 * Math.min(daysSinceLogin, 60) -
    1.6 * (seatUse - 0.65) -
    1.2 * (adoption - 0.45) +
    0.18 * (tickets - 2) +
    0.5 * sev1 -
    0.25 * ((nps ?? 7) - 7) -
    0.2 * integrations +
    (contractMonths === 1 && daysToRenewal < 20 && seatUse < 0.6 ? 1.4 : 0) +
    (paymentFailures > 0 && planLevel <= 1 ? 0.9 : 0) -
    2.5 * mrrChange +
    (trial === "yes" ? 1 : 0) -
    0.25 * planLevel;
  const churned = random() < sigmoid(z);
  const renewal = new Date(today.getTime() + daysToRenewal * 86_400_000).toISOString().slice(0, 10);
  return { id: accountId(i), name: `Account ${i}`, arr, owner: OWNERS[i % OWNERS.length], renewalDate: renewal, features, churned };
}

/** Seed of the portfolio the bench loads; the labelled training sample uses another. */
export const PORTFOLIO_SEED = 1;
export const SAMPLE_SEED = 2;

/** A labelled CSV of `rows` accounts (seed SAMPLE_SEED) for `npm run train`. */
export function labelledSampleCsv(rows: number): string {
  const first = syntheticAccount(0, SAMPLE_SEED);
  const columns = Object.keys(first.features);
  const out: (string | number | null)[][] = [];
  for (let i = 0; i < rows; i++) {
    const a = syntheticAccount(i, SAMPLE_SEED);
    out.push([a.id, ...columns.map((c) => a.features[c] as string | number | null), a.churned ? "yes" : "no"]);
  }
  return toCsv(["account_id", ...columns, "churned"], out);
}
