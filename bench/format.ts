/**
 * How the benches that run the product (`bench:api`, `bench:rescore`) print figures in their
 * BENCHMARKS.md sections and their progress on stderr, so both read alike.
 */
import os from "node:os";

/** `v` with `d` decimals, or "—" when there is no finite figure. */
export const f = (v: number | null | undefined, d = 1) => (v == null || !Number.isFinite(v) ? "—" : v.toFixed(d));

/** A whole number with thousands separators: 12,345. */
export const n0 = (v: number) => Math.round(v).toLocaleString("en-US");

/** Bytes in KiB, one decimal. */
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Bytes in MB, or GB from a billion (decimal units, as D1's limits are stated). */
export const mb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** A target's verdict. */
export const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

/** The 1, 5 and 15 minute load averages, recorded with figures that other work on the machine skews. */
export const loadAverage = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(", ");

/**
 * A progress logger on stderr (stdout carries the report); `clock` prefixes the time of day, for
 * runs long enough that when a step happened matters.
 */
export function progressLog(clock: boolean): (text: string) => void {
  return (text) => console.error(`\x1b[36m›\x1b[0m ${clock ? `${new Date().toISOString().slice(11, 19)} ` : ""}${text}`);
}
