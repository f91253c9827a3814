/**
 * A seeded synthetic health panel for trajectory tests and examples: weekly cutoffs, accounts
 * whose latent health drifts with a slope of their own (declining, stable or improving, which
 * occasionally switches) plus noise, a login signal that moves with the slope (a leading
 * indicator), a ticket count, and a yearly renewal date. Observed health is the latent one plus
 * measurement noise, rounded to 0–100 as real health is.
 */
import { toCsv } from "../../shared/csv";
import { mulberry32 } from "../split";

export interface SyntheticPanelOptions {
  accounts?: number;
  /** Weekly cutoffs per account. */
  weeks?: number;
  seed?: number;
  /** First cutoff, YYYY-MM-DD. */
  start?: string;
}

/** Slopes (health points per day) of the three regimes and how often each is drawn. */
const REGIMES = [
  { slope: -0.15, weight: 0.4 },
  { slope: 0, weight: 0.4 },
  { slope: 0.1, weight: 0.2 },
];
/** Chance per week that an account's regime is drawn again. */
const SWITCH = 0.02;

/**
 * The panel as CSV text: `account_id,as_of,health,renewal_date,logins_30d,tickets_30d,plan`
 * (`plan` is text, so training leaves it out as not numeric).
 *
 * @example
 *   writeFileSync("panel.csv", syntheticPanel({ accounts: 150, weeks: 70, seed: 7 }));
 */
export function syntheticPanel(o: SyntheticPanelOptions = {}): string {
  const random = mulberry32(o.seed ?? 1);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const regime = () => {
    let u = random();
    for (const r of REGIMES) if ((u -= r.weight) < 0) return r.slope;
    return 0;
  };
  const start = Date.parse(o.start ?? "2025-01-06");
  const day = (t: number) => new Date(start + t * 86_400_000).toISOString().slice(0, 10);
  const rows: (string | number)[][] = [];
  for (let a = 0; a < (o.accounts ?? 150); a++) {
    let latent = 40 + 50 * random();
    let slope = regime();
    let renewal = Math.floor(random() * 365);
    const plan = random() < 0.5 ? "pro" : "team";
    for (let w = 0; w < (o.weeks ?? 70); w++) {
      const t = 7 * w;
      if (w > 0) {
        if (random() < SWITCH) slope = regime();
        // Drift fades near the bounds, as health cannot leave 0–100.
        latent = Math.min(100, Math.max(0, latent + 7 * slope + normal()));
      }
      while (renewal < t) renewal += 365;
      const health = Math.round(Math.min(100, Math.max(0, latent + 3 * normal())));
      const logins = Math.max(0, 20 + 0.3 * (latent - 60) + 60 * slope + 2 * normal());
      const tickets = Math.max(0, Math.round(2 + 20 * Math.max(0, -slope) + normal()));
      rows.push([`ACC${String(a).padStart(4, "0")}`, day(t), health, day(renewal), logins.toFixed(1), tickets, plan]);
    }
  }
  return toCsv(["account_id", "as_of", "health", "renewal_date", "logins_30d", "tickets_30d", "plan"], rows);
}
