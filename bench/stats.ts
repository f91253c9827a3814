/**
 * Summary statistics of timed samples, as the bench reports quote them (median, p95 ...).
 */

/** The spread of a set of timings. */
export interface Stats {
  n: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** Count, min, median, p95 (nearest rank) and max of `values`. */
export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, min: s[0], median, p95: at(0.95), max: s[s.length - 1] };
}
