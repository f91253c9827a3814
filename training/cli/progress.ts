/** The CLIs' progress bar on stderr. */

/**
 * A one-line progress bar on stderr (redrawn in place on a terminal, a line per step otherwise).
 *
 * @example
 *   progress(3, 10, "cutoff 1997-09-28");
 */
export function progress(done: number, total: number, label: string): void {
  const width = 24;
  const filled = Math.round((done / Math.max(1, total)) * width);
  const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}${done === total ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}
