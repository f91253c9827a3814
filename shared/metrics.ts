/**
 * Classification metrics shared by training, evaluation and monitoring: ROC-AUC, PR-AUC
 * (average precision), Brier score, log loss, precision and recall at a threshold and the
 * reliability table; and the monitoring statistics: population stability index (drift) and
 * Spearman rank correlation (model comparison). Labels are 0/1, scores are probabilities.
 */

/** ROC-AUC by the rank-sum method, with ties given their average rank. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]] === 1) {
      rankSum += avgRank;
      positives++;
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** PR-AUC as average precision (the step-wise sum scikit-learn reports), ties grouped. */
export function prAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let totalPos = 0;
  for (let i = 0; i < n; i++) totalPos += labels[i] === 1 ? 1 : 0;
  if (totalPos === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    for (let k = i; k <= j; k++) labels[order[k]] === 1 ? tp++ : fp++;
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

export function brier(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s += (scores[i] - labels[i]) ** 2;
  return s / labels.length;
}

export function logLoss(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, scores[i]));
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / labels.length;
}

/** Precision, recall, F1 and share of rows at or above a probability threshold. */
export function atThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number) {
  let tp = 0;
  let flagged = 0;
  let positives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) positives++;
    if (scores[i] >= threshold) {
      flagged++;
      if (labels[i] === 1) tp++;
    }
  }
  return {
    threshold,
    flagged,
    share: flagged / labels.length,
    precision: flagged ? tp / flagged : NaN,
    recall: positives ? tp / positives : NaN,
    /** Harmonic mean of precision and recall: 2·TP / (flagged + positives). */
    f1: flagged + positives ? (2 * tp) / (flagged + positives) : NaN,
  };
}

/** Expected calibration error over `bins` equal-width bins, and the reliability table behind it. */
export function calibrationReport(p: ArrayLike<number>, y: ArrayLike<number>, bins = 10) {
  const table = Array.from({ length: bins }, (_, k) => ({ from: k / bins, to: (k + 1) / bins, n: 0, meanPredicted: 0, observed: 0 }));
  for (let i = 0; i < p.length; i++) {
    const b = table[Math.min(bins - 1, Math.floor(p[i] * bins))];
    b.n++;
    b.meanPredicted += p[i];
    b.observed += y[i];
  }
  let ece = 0;
  for (const b of table) {
    if (!b.n) continue;
    b.meanPredicted /= b.n;
    b.observed /= b.n;
    ece += (b.n / p.length) * Math.abs(b.meanPredicted - b.observed);
  }
  return { ece, table: table.filter((b) => b.n > 0) };
}

/** Share below which a bin counts as this share in the PSI, so an empty bin is not infinitely surprising. */
export const PSI_FLOOR = 1e-4;

/**
 * Population stability index of `actual` against `expected`, two distributions over the same
 * bins (shares or counts; each is normalised to sum to 1): Σ (a − e) · ln(a / e), with every
 * share floored at `PSI_FLOOR` (as Evidently does). 0 means identical; by the usual reading,
 * below 0.1 is stable, 0.1-0.2 a moderate shift and above 0.2 a major one. NaN when either
 * side is empty or the bins differ in number.
 *
 * @example
 *   psi([0.5, 0.5], [0.5, 0.5]); // 0
 *   psi([0.5, 0.5], [0.9, 0.1]); // (0.4·ln 1.8) + (−0.4·ln 0.2) ≈ 0.879
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length || expected.length === 0) return NaN;
  let se = 0;
  let sa = 0;
  for (let i = 0; i < expected.length; i++) {
    se += expected[i];
    sa += actual[i];
  }
  if (!(se > 0 && sa > 0)) return NaN;
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(PSI_FLOOR, expected[i] / se);
    const a = Math.max(PSI_FLOOR, actual[i] / sa);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** Ranks from 1, tied values sharing their average rank. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's rank correlation: the Pearson correlation of the average ranks, so ties are
 * handled exactly. NaN with fewer than two pairs or when either side is constant.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length || n < 2) return NaN;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) ** 2;
    sbb += (rb[i] - mean) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}
