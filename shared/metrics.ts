/**
 * Classification metrics shared by training, evaluation and monitoring: ROC-AUC, PR-AUC
 * (average precision), Brier score and log loss. Labels are 0/1, scores are probabilities.
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

/** Precision, recall and share of rows at or above a probability threshold. */
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
  };
}
