/**
 * The logistic function: log-odds (a model's margin) to a probability, stable for any margin.
 * The one copy, used by the scorers, calibration, the expansion scorecard and training.
 *
 * @example
 *   sigmoid(0); // 0.5
 */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
