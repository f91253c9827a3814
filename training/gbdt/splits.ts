/**
 * Finding splits: a node's gradient/hessian histogram over the sampled features, and the split
 * with the best second-order gain, trying the missing rows on both sides.
 */
import type { Binned } from "./bins";
import type { GbdtOptions } from "./options";

/** The best split found for a node. */
export interface Split {
  gain: number;
  feature: number;
  /** Last global bin that goes left (value bins only). */
  bin: number;
  threshold: number;
  defaultLeft: boolean;
  gl: number;
  hl: number;
}

/** A leaf waiting to be split: its rows, sums, histogram and best split. */
export interface Candidate {
  node: number;
  begin: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array;
  split: Split | null;
}

/** The histogram of a leaf that will not be split (none is built). */
export const NO_HIST = new Float64Array(0);

/**
 * Whether a new leaf may be split further, so that it needs a histogram.
 *
 * @example
 *   if (splittable(child, o)) child.hist = takeHist();
 */
export function splittable(c: Candidate, o: GbdtOptions): boolean {
  return c.depth < o.maxDepth && c.h >= 2 * o.minChildWeight && c.end - c.begin >= 2;
}

/**
 * Sums gradient and hessian of rows idx[begin..end) into `hist` (interleaved g, h per bin),
 * given the node's totals `g`, `h`. Only the sampled `features` come out right.
 *
 * @example
 *   buildHist(root.hist, binned, features, idx, 0, n, gh, g0, h0);
 */
export function buildHist(hist: Float64Array, binned: Binned, features: Int32Array, idx: Int32Array, begin: number, end: number, gh: Float64Array, g: number, h: number): void {
  const { rowStart, entries, frequent, start, count } = binned;
  hist.fill(0);
  for (let k = begin; k < end; k++) {
    const r = idx[k];
    const gr = gh[2 * r];
    const hr = gh[2 * r + 1];
    for (let p = rowStart[r], e = rowStart[r + 1]; p < e; p++) {
      const b = entries[p] << 1;
      hist[b] += gr;
      hist[b + 1] += hr;
    }
  }
  // Each feature's most frequent bin was skipped: it holds whatever the other bins do not.
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    const top = frequent[f];
    let gs = 0;
    let hs = 0;
    for (let b = start[f], e = start[f] + count[f]; b <= e; b++) {
      gs += hist[2 * b];
      hs += hist[2 * b + 1];
    }
    hist[2 * top] = g - gs;
    // Rounding must not make a hessian sum negative.
    hist[2 * top + 1] = Math.max(h - hs, 0);
  }
}

/**
 * The best split of a node over the sampled features, or null when none gains anything.
 *
 * @example
 *   root.split = bestSplit(root, binned, features, o);
 */
export function bestSplit(c: Candidate, binned: Binned, features: Int32Array, o: GbdtOptions): Split | null {
  const { start, count, cuts } = binned;
  const hist = c.hist;
  const G = c.g;
  const H = c.h;
  const lambda = o.lambda;
  const mcw = o.minChildWeight;
  const parentScore = (G * G) / (H + lambda);
  let best: Split | null = null;
  let bestGain = Math.max(o.gamma, 1e-10);
  for (let j = 0; j < features.length; j++) {
    const f = features[j];
    const s = start[f];
    const nb = count[f];
    const gm = hist[2 * (s + nb)];
    const hm = hist[2 * (s + nb) + 1];
    const hasMissing = hm > 0;
    let gl = 0;
    let hl = 0;
    // Split after value bin b (b = nb − 1 only with missing rows: present left, missing right).
    const last = hasMissing ? nb - 1 : nb - 2;
    for (let b = 0; b <= last; b++) {
      gl += hist[2 * (s + b)];
      hl += hist[2 * (s + b) + 1];
      // Missing rows right.
      const hr = H - hl;
      if (hl >= mcw && hr >= mcw) {
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          // With no missing rows here, unseen missing values follow the heavier side.
          const dl = !hasMissing && hl >= hr;
          best = { gain, feature: f, bin: s + b, threshold: b < nb - 1 ? cuts[f][b] : Infinity, defaultLeft: dl, gl, hl };
        }
      }
      if (!hasMissing || b === nb - 1) continue;
      // Missing rows left.
      const gl2 = gl + gm;
      const hl2 = hl + hm;
      const hr2 = H - hl2;
      if (hl2 >= mcw && hr2 >= mcw) {
        const gr2 = G - gl2;
        const gain = (gl2 * gl2) / (hl2 + lambda) + (gr2 * gr2) / (hr2 + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          best = { gain, feature: f, bin: s + b, threshold: cuts[f][b], defaultLeft: true, gl: gl2, hl: hl2 };
        }
      }
    }
  }
  return best;
}
