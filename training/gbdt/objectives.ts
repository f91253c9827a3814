/**
 * The losses the GBDT trainer can boost: per objective its labels' rule, its starting margin, the
 * gradient and hessian it hands the trees, the loss early stopping watches, and, for the
 * quantile loss, the leaf values it sets itself. The boosting loop in `../gbdt.ts` is the same
 * for all of them; only these pieces differ.
 *
 * | objective  | margin is            | base margin           | gradient, hessian                  |
 * |------------|----------------------|-----------------------|------------------------------------|
 * | `logistic` | log-odds             | log-odds of the mean  | p − y, p(1 − p)                    |
 * | `squared`  | the prediction       | mean                  | z − y, 1                           |
 * | `quantile` | the alpha-quantile   | alpha-quantile of y   | 1[y < z] − alpha, 1; leaves renewed |
 * | `poisson`  | log of the mean      | log of the mean       | e^z − y, e^(z + 0.7)               |
 */
import { sigmoid } from "../../shared/model/sigmoid";

export const OBJECTIVES = ["logistic", "squared", "quantile", "poisson"] as const;
export type GbdtObjective = (typeof OBJECTIVES)[number];

/** What the boosting loop asks of a loss. */
export interface Objective {
  /** Starting margin of every row. */
  base(y: ArrayLike<number>, rows: number): number;
  /** Gradient and hessian (interleaved in `gh`, indexed by row) of the sampled rows idx[0..n). */
  gradients(y: ArrayLike<number>, margin: Float64Array, idx: Int32Array, n: number, gh: Float64Array): void;
  /** Mean loss of the first `n` margins: early stopping compares these. */
  loss(y: ArrayLike<number>, margin: Float64Array, n: number): number;
  /**
   * A leaf's value before shrinkage from its rows idx[begin..end), where the Newton step
   * −G/(H + λ) is not what the loss wants; absent: the Newton step.
   */
  leaf?(y: ArrayLike<number>, margin: Float64Array, idx: Int32Array, begin: number, end: number): number;
}

/**
 * XGBoost's `max_delta_step` for Poisson (0.7): the hessian is inflated by e^0.7 so that early
 * steps from the log mean, where e^z can be far from a row's count, stay small.
 */
const POISSON_DELTA_STEP = 0.7;

/** Linear-interpolated `alpha`-quantile of sorted values (R's type 7). */
function sortedQuantile(sorted: Float64Array, alpha: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const at = alpha * (n - 1);
  const lo = Math.floor(at);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean log loss (log(1 + e^z) − y z, stable for large |z|). */
function logLoss(y: ArrayLike<number>, margin: Float64Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const z = margin[i];
    sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
  }
  return n ? sum / n : NaN;
}

const logistic: Objective = {
  base(y, rows) {
    let positives = 0;
    for (let i = 0; i < rows; i++) positives += y[i];
    const rate = Math.min(Math.max(positives / rows, 1e-6), 1 - 1e-6);
    return Math.log(rate / (1 - rate));
  },
  gradients(y, margin, idx, n, gh) {
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      const p = sigmoid(margin[i]);
      gh[2 * i] = p - y[i];
      gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
    }
  },
  loss: logLoss,
};

const squared: Objective = {
  base(y, rows) {
    let sum = 0;
    for (let i = 0; i < rows; i++) sum += y[i];
    return sum / rows;
  },
  gradients(y, margin, idx, n, gh) {
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      gh[2 * i] = margin[i] - y[i];
      gh[2 * i + 1] = 1;
    }
  },
  loss(y, margin, n) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += (margin[i] - y[i]) ** 2;
    return n ? sum / n : NaN;
  },
};

/**
 * Pinball loss at `alpha`. Its gradient is a sign, so Newton leaves (the mean sign in a leaf)
 * would creep towards the quantile by at most one learning rate per round; instead the trees
 * are grown on the gradient with unit hessian (choosing splits) and each leaf is then set to the
 * alpha-quantile of its rows' residuals, as LightGBM and scikit-learn do.
 */
function quantile(alpha: number, rows: number): Objective {
  const scratch = new Float64Array(rows);
  return {
    base(y, n) {
      for (let i = 0; i < n; i++) scratch[i] = y[i];
      return sortedQuantile(scratch.subarray(0, n).sort(), alpha);
    },
    gradients(y, margin, idx, n, gh) {
      for (let k = 0; k < n; k++) {
        const i = idx[k];
        gh[2 * i] = (y[i] < margin[i] ? 1 : 0) - alpha;
        gh[2 * i + 1] = 1;
      }
    },
    loss(y, margin, n) {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const r = y[i] - margin[i];
        sum += r >= 0 ? alpha * r : (alpha - 1) * r;
      }
      return n ? sum / n : NaN;
    },
    leaf(y, margin, idx, begin, end) {
      const m = end - begin;
      for (let k = 0; k < m; k++) {
        const i = idx[begin + k];
        scratch[k] = y[i] - margin[i];
      }
      return sortedQuantile(scratch.subarray(0, m).sort(), alpha);
    },
  };
}

const poisson: Objective = {
  base(y, rows) {
    let sum = 0;
    for (let i = 0; i < rows; i++) sum += y[i];
    return Math.log(Math.max(sum / rows, 1e-12));
  },
  gradients(y, margin, idx, n, gh) {
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      const mu = Math.exp(margin[i]);
      gh[2 * i] = mu - y[i];
      gh[2 * i + 1] = Math.exp(margin[i] + POISSON_DELTA_STEP);
    }
  },
  // Negative log-likelihood without the log(y!) term, which no model changes.
  loss(y, margin, n) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(margin[i]) - y[i] * margin[i];
    return n ? sum / n : NaN;
  },
};

/**
 * The loss to boost, for `rows` training rows (the quantile loss keeps a scratch buffer that size).
 *
 * @example
 *   const objective = objectiveOf("quantile", 0.95, rows);
 *   const base = objective.base(y, rows); // the 95th percentile of y
 */
export function objectiveOf(name: GbdtObjective, alpha: number, rows: number): Objective {
  if (name === "squared") return squared;
  if (name === "quantile") return quantile(alpha, rows);
  if (name === "poisson") return poisson;
  return logistic;
}

/**
 * Throws a RangeError naming the first label the objective cannot train on: logistic wants 0 or
 * 1, squared and quantile any finite number, Poisson non-negative counts that are not all 0.
 *
 * @example
 *   checkLabels("poisson", Float64Array.of(0, 2, -1), 3); // RangeError: poisson labels must be finite and >= 0, row 2 has -1
 */
export function checkLabels(name: GbdtObjective, y: ArrayLike<number>, rows: number): void {
  if (name === "logistic") {
    for (let i = 0; i < rows; i++) if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`labels must be 0 or 1, row ${i} has ${y[i]}`);
    return;
  }
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    const v = y[i];
    if (!Number.isFinite(v)) throw new RangeError(`${name} labels must be finite numbers, row ${i} has ${v}`);
    if (name === "poisson" && v < 0) throw new RangeError(`poisson labels must be finite and >= 0, row ${i} has ${v}`);
    sum += v;
  }
  if (name === "poisson" && !(sum > 0)) throw new RangeError("poisson labels are all 0: there is no rate to fit");
}
