/**
 * The special functions the purchase-forecast models need: log Γ and the Gauss hypergeometric
 * function 2F1 by its power series. Pure TypeScript (no Node APIs) so the models can move to
 * `shared/` and run in the Worker.
 */

// Lanczos coefficients for g = 7, n = 9 (Numerical Recipes / Godfrey): ~1e-15 relative error.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0 (NaN otherwise).
 *
 * @example
 *   lnGamma(5); // ln 24 ≈ 3.1780538
 */
export function lnGamma(x: number): number {
  if (!(x > 0)) return NaN;
  // Reflection keeps the approximation on its accurate side for small arguments.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return HALF_LN_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
 *
 * @example
 *   Math.exp(lnBeta(2, 3)); // 1/12
 */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

const MAX_TERMS = 100_000;

/**
 * The Gauss hypergeometric function 2F1(a, b; c; z) = Σ (a)ₖ(b)ₖ / ((c)ₖ k!) zᵏ by its series,
 * for |z| < 1 and c not a non-positive integer. The series is summed until a term no longer
 * changes the sum, which near |z| = 1 can take thousands of terms; throws a RangeError outside
 * the series' domain rather than return a wrong number.
 *
 * @example
 *   hyp2f1(1, 1, 2, 0.5); // −ln(1 − 0.5) / 0.5 ≈ 1.3862944
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(Math.abs(z) < 1)) throw new RangeError(`hyp2f1: the series needs |z| < 1, got z = ${z}`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`hyp2f1: c = ${c} is a pole`);
  let term = 1;
  let sum = 1;
  for (let k = 0; k < MAX_TERMS; k++) {
    term *= (((a + k) * (b + k)) / ((c + k) * (k + 1))) * z;
    const next = sum + term;
    // Stop once terms are negligible and shrinking (the ratio tends to z, so |term| only
    // shrinks past k ≈ the parameters' size; an early tiny term could precede growth).
    if (next === sum && Math.abs((a + k + 1) * (b + k + 1) * z) <= Math.abs((c + k + 1) * (k + 2))) return next;
    sum = next;
    if (term === 0) return sum;
  }
  throw new RangeError(`hyp2f1: the series did not converge in ${MAX_TERMS} terms (z = ${z})`);
}

/**
 * ln 2F1(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, summed in the log domain. Every term is
 * then positive, and the log form survives sums far beyond double range: BG/NBD's 2F1 for a
 * heavy buyer grows like (1 − z)^−(r + x) and is multiplied back by (1 − z)^(r + x).
 *
 * @example
 *   lnHyp2f1(2, 3, 3, 0.5); // ln (1 − 0.5)^−2 = ln 4
 */
export function lnHyp2f1(a: number, b: number, c: number, z: number): number {
  if (!(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1)) throw new RangeError(`lnHyp2f1: needs a, b, c > 0 and 0 <= z < 1, got ${a}, ${b}, ${c}, ${z}`);
  if (z === 0) return 0;
  const lnZ = Math.log(z);
  let lnTerm = 0;
  // Running sum as exp(lnScale) × scaled, rescaled whenever a term outgrows it.
  let lnScale = 0;
  let scaled = 1;
  for (let k = 0; k < MAX_TERMS; k++) {
    lnTerm += Math.log(((a + k) * (b + k)) / ((c + k) * (k + 1))) + lnZ;
    if (lnTerm > lnScale) {
      scaled = scaled * Math.exp(lnScale - lnTerm) + 1;
      lnScale = lnTerm;
      continue;
    }
    const add = Math.exp(lnTerm - lnScale);
    if (scaled + add === scaled && (a + k + 1) * (b + k + 1) * z <= (c + k + 1) * (k + 2)) return lnScale + Math.log(scaled);
    scaled += add;
  }
  throw new RangeError(`lnHyp2f1: the series did not converge in ${MAX_TERMS} terms (z = ${z})`);
}
