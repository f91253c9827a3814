/**
 * Version ids for the artifacts training writes (trained models, scorecards, XGBoost imports):
 * what the model is, when it was made and a short hash of what it was made from, so two runs
 * on different data or with different results never share an id.
 */

/**
 * `${prefix}-YYYYMMDD-HHMMSS-${first six hex digits of sha256}`, the time in UTC.
 *
 * @example
 *   versionId("churn", new Date("2026-11-22T14:05:12Z"), "3fa1c2d4..."); // "churn-20261122-140512-3fa1c2"
 */
export function versionId(prefix: string, now: Date, sha256: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${prefix}-${stamp}-${sha256.slice(0, 6)}`;
}
