/**
 * The SaaS demo generator's random draws and small numeric helpers (saas.ts describes the
 * process). Each account has its own streams, so accounts never depend on each other; the CS
 * team's choices (when a step is done, what a CSM says) come from a stream apart from the
 * account's dynamics, so giving an account a playbook or not leaves its other draws alone.
 */
import { addDays } from "../../shared/days";
import { mulberry32 } from "../split";

/** Streams of one account: its dynamics, and its CS team's choices. */
export const STREAM_ACCOUNT = 0;
export const STREAM_CS = 0x5c5c_a11e;
/** The stream of the CS team's use of the product (owner_usage), one for the portfolio. */
export const STREAM_USAGE = 0x05a6_e000;

/** MurmurHash3's finaliser: mixes a 32-bit value so that nearby inputs give unrelated outputs. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The stream of an account's week `t` (its dynamics that week). */
export function weekStream(t: number): number {
  return fmix32(0x3eec_0000 + t);
}

/** Random draws from one stream of one account. */
export class Draws {
  readonly next: () => number;
  constructor(seed: number, index: number, stream = STREAM_ACCOUNT) {
    // The account's own stream keeps its original seeding, so segments, names and owners stay put.
    const mixed = stream === STREAM_ACCOUNT ? seed ^ Math.imul(index + 1, 0x9e3779b1) : fmix32(seed ^ fmix32(Math.imul(index + 1, 0x9e3779b1) ^ stream));
    this.next = mulberry32(mixed >>> 0);
  }
  normal(): number {
    // Box-Muller; 1 − u keeps log away from 0.
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  binomial(n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.next() < p) k++;
    return k;
  }
  poisson(lambda: number): number {
    // Knuth's method: λ stays small here (a few tickets a month).
    const limit = Math.exp(-lambda);
    let k = 0;
    for (let p = this.next(); p > limit; p *= this.next()) k++;
    return k;
  }
  /** A time on `day` between `fromHour` and `toHour` UTC, as an ISO timestamp. */
  timeOn(day: string, fromHour: number, toHour: number): string {
    const minutes = this.int(fromHour * 60, toHour * 60 - 1);
    return `${day}T${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}:00.000Z`;
  }
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
export const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Saturday or Sunday (UTC). */
export function isWeekend(day: string): boolean {
  const d = new Date(`${day.slice(0, 10)}T00:00:00Z`).getUTCDay();
  return d === 0 || d === 6;
}

/** The day itself when it is a workday, else the Monday after: CSMs work Monday to Friday. */
export function workdayFrom(day: string): string {
  let d = day;
  while (isWeekend(d)) d = addDays(d, 1);
  return d;
}
