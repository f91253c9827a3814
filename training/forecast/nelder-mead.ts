/**
 * Nelder–Mead minimisation without derivatives, for fitting the small forecast models (BG/NBD's
 * four parameters) by maximum likelihood. Pure TypeScript and deterministic: the same start
 * gives the same answer, so fitted parameters are reproducible in tests and benchmarks.
 */

export interface NelderMeadOptions {
  /** Edge of the initial simplex along each axis (default 0.5: in log-parameter space, ×1.65). */
  step?: number;
  /** Stop when the simplex's function values and coordinates span less than this (default 1e-10). */
  tolerance?: number;
  /** Function evaluations allowed per run (default 4000). */
  maxEvaluations?: number;
  /**
   * Fresh simplices started from the best point after the first run (default 2). A restart
   * undoes a collapse of the simplex onto a line, Nelder–Mead's known way to stop short.
   */
  restarts?: number;
}

export interface NelderMeadResult {
  x: number[];
  value: number;
  evaluations: number;
}

/**
 * Minimises `f` from `start`. A non-finite value counts as +∞, so `f` can refuse points
 * outside its domain by returning NaN.
 *
 * @example
 *   nelderMead(([x, y]) => (x - 1) ** 2 + (y + 2) ** 2, [0, 0]).x; // ≈ [1, -2]
 */
export function nelderMead(f: (x: number[]) => number, start: number[], options: NelderMeadOptions = {}): NelderMeadResult {
  const step = options.step ?? 0.5;
  const tolerance = options.tolerance ?? 1e-10;
  const maxEvaluations = options.maxEvaluations ?? 4000;
  const restarts = options.restarts ?? 2;
  let evaluations = 0;
  const value = (x: number[]) => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let best = { x: [...start], value: value(start) };
  for (let run = 0; run <= restarts; run++) {
    // Later runs use a smaller simplex: they polish around the optimum rather than search.
    best = simplexRun(value, best.x, best.value, run === 0 ? step : step / 4, tolerance, () => evaluations < maxEvaluations * (run + 1));
  }
  return { ...best, evaluations };
}

function simplexRun(
  f: (x: number[]) => number,
  start: number[],
  startValue: number,
  step: number,
  tolerance: number,
  budgetLeft: () => boolean,
): { x: number[]; value: number } {
  const n = start.length;
  const points: number[][] = [start];
  const values: number[] = [startValue];
  for (let i = 0; i < n; i++) {
    const p = [...start];
    p[i] += step;
    points.push(p);
    values.push(f(p));
  }
  const order = points.map((_, k) => k);
  while (budgetLeft()) {
    order.sort((i, j) => values[i] - values[j] || i - j); // ties by index keep runs deterministic
    const bestK = order[0];
    const worstK = order[n];
    const secondWorst = values[order[n - 1]];
    let span = Math.abs(values[worstK] - values[bestK]);
    for (const k of order) for (let i = 0; i < n; i++) span = Math.max(span, Math.abs(points[k][i] - points[bestK][i]));
    if (span < tolerance) break;

    const centroid = new Array<number>(n).fill(0);
    for (const k of order.slice(0, n)) for (let i = 0; i < n; i++) centroid[i] += points[k][i] / n;
    const along = (t: number) => centroid.map((c, i) => c + t * (points[worstK][i] - c));

    const reflected = along(-1);
    const fr = f(reflected);
    if (fr < values[bestK]) {
      const expanded = along(-2);
      const fe = f(expanded);
      [points[worstK], values[worstK]] = fe < fr ? [expanded, fe] : [reflected, fr];
      continue;
    }
    if (fr < secondWorst) {
      [points[worstK], values[worstK]] = [reflected, fr];
      continue;
    }
    // Contract towards the better of the worst point and its reflection.
    const contracted = fr < values[worstK] ? along(-0.5) : along(0.5);
    const fc = f(contracted);
    if (fc < Math.min(fr, values[worstK])) {
      [points[worstK], values[worstK]] = [contracted, fc];
      continue;
    }
    for (const k of order.slice(1)) {
      points[k] = points[k].map((v, i) => points[bestK][i] + 0.5 * (v - points[bestK][i]));
      values[k] = f(points[k]);
    }
  }
  let k = 0;
  for (let j = 1; j <= n; j++) if (values[j] < values[k]) k = j;
  return { x: points[k], value: values[k] };
}
