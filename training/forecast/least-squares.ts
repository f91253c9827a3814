/**
 * Ordinary least squares for the few-weight corrections the forecasts learn: normal equations
 * solved by Gaussian elimination with partial pivoting. Pure TypeScript, deterministic.
 */

/**
 * The weights w minimising Σ (rows[i]·w − targets[i])², with a tiny ridge (1e-9 × the mean
 * diagonal) so collinear inputs give a stable answer instead of a singular matrix. Include a
 * constant column in `rows` for an intercept.
 *
 * @example
 *   leastSquares([[1, 0], [1, 1], [1, 2]], [1, 3, 5]); // ≈ [1, 2]
 */
export function leastSquares(rows: readonly (readonly number[])[], targets: readonly number[]): number[] {
  if (rows.length === 0 || rows.length !== targets.length) throw new RangeError(`leastSquares: ${rows.length} rows for ${targets.length} targets`);
  const k = rows[0].length;
  const m = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let n = 0; n < rows.length; n++) {
    const x = rows[n];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) m[i][j] += x[i] * x[j];
      m[i][k] += x[i] * targets[n];
    }
  }
  let trace = 0;
  for (let i = 0; i < k; i++) trace += m[i][i];
  for (let i = 0; i < k; i++) m[i][i] += (1e-9 * trace) / k;
  for (let i = 0; i < k; i++) {
    let pivot = i;
    for (let r = i + 1; r < k; r++) if (Math.abs(m[r][i]) > Math.abs(m[pivot][i])) pivot = r;
    [m[i], m[pivot]] = [m[pivot], m[i]];
    if (m[i][i] === 0) throw new RangeError("leastSquares: the inputs are degenerate");
    for (let r = 0; r < k; r++) {
      if (r === i) continue;
      const f = m[r][i] / m[i][i];
      if (f !== 0) for (let c = i; c <= k; c++) m[r][c] -= f * m[i][c];
    }
  }
  return m.map((row, i) => row[k] / row[i]);
}
