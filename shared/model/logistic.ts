/**
 * Logistic regression scorer over typed arrays, with exact linear SHAP: for a linear margin,
 * the Shapley value of column j is w_j · (x_j − E[x_j]), so base + Σ contributions = margin.
 */
import type { LogisticParams } from "./artifact";

export class LogisticScorer {
  readonly weights: Float64Array;
  readonly intercept: number;
  /** Margin (log-odds) at the training mean: the SHAP base value. */
  readonly baseValue: number;
  private readonly baseline: Float64Array;

  constructor(params: LogisticParams, baseline: ArrayLike<number>) {
    this.weights = Float64Array.from(params.weights);
    this.intercept = params.intercept;
    this.baseline = Float64Array.from(baseline);
    let base = params.intercept;
    for (let j = 0; j < this.weights.length; j++) base += this.weights[j] * this.baseline[j];
    this.baseValue = base;
  }

  /** Log-odds of the row starting at `offset` in `x`. */
  margin(x: Float64Array, offset = 0): number {
    const w = this.weights;
    let z = this.intercept;
    for (let j = 0; j < w.length; j++) z += w[j] * x[offset + j];
    return z;
  }

  /** Adds each encoded column's SHAP value into `out[owners[j]]` (grouped by user column). */
  contributions(x: Float64Array, owners: Int32Array, out: Float64Array, offset = 0): void {
    const w = this.weights;
    const b = this.baseline;
    for (let j = 0; j < w.length; j++) out[owners[j]] += w[j] * (x[offset + j] - b[j]);
  }
}
