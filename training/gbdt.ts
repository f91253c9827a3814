/**
 * Histogram-based gradient-boosted trees for churn (binary logistic loss), in plain TypeScript
 * over typed arrays, single-threaded and deterministic for a seed.
 *
 * The recipe is XGBoost's `tree_method="hist"`: every feature is cut once into up to `maxBins`
 * quantile bins (plus a bin for missing values); each round fits one tree to the gradient and
 * hessian of the log loss by summing them into per-node histograms (building the smaller child
 * and deriving its sibling by subtraction), and scores every split with the second-order gain
 * G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ). At every split both sides are tried for the rows whose
 * value is missing and the better one becomes the split's default direction, so trees learn
 * what missingness means. Leaves are −G/(H+λ) times the learning rate.
 *
 * Where a node has no missing values, unseen missing values follow the child with more hessian.
 *
 * Split thresholds are float32 bin boundaries, and a row goes left iff fround(x) < threshold,
 * exactly as the edge scorer (`shared/model/gbdt.ts`) and XGBoost decide, so a training row's
 * margin during boosting equals its margin at the edge, bit for bit.
 *
 * Speed (Telco, 300 trees of depth 4: about XGBoost's single-thread time; see bench/): rows are
 * stored as sparse lists of bins that leave out each feature's most frequent bin, recovered per
 * node as total minus the rest (one-hot columns are mostly that bin); children at the depth
 * limit get no histogram; rows are partitioned through a per-split bin → side table without
 * branches.
 */
import type { GbdtParams } from "../shared/model/artifact";
import { encodeGbdt, type GbdtModel, type GbdtTree } from "../shared/model/gbdt";
import { mulberry32 } from "./split";

export interface GbdtOptions {
  /** Boosting rounds (trees) at most; early stopping may keep fewer. */
  rounds: number;
  /** Shrinkage: each tree's leaves are scaled by this. */
  learningRate: number;
  /** Deepest split level (a depth-d tree has up to 2^d leaves). */
  maxDepth: number;
  /** Most leaves per tree; 0 means 2^maxDepth. Nodes with the largest gain are split first. */
  maxLeaves: number;
  /** Least hessian sum (≈ p(1−p) summed over rows) a child may have. */
  minChildWeight: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Least gain for a split to be made (XGBoost's gamma / min_split_loss). */
  gamma: number;
  /** Share of rows each tree is fitted on (Bernoulli sample per tree). */
  subsample: number;
  /** Share of columns each tree may split on (sampled per tree). */
  colsample: number;
  /** Quantile bins per feature, at most; missing values get one more bin of their own. */
  maxBins: number;
  /** Stop after this many rounds without a better validation loss (0: never stop early). */
  earlyStoppingRounds: number;
  /** Seeds row and column sampling. */
  seed: number;
  /** Starting margin; default the log-odds of the training base rate. */
  baseMargin?: number;
}

/** The settings used when none are given. */
export const DEFAULT_GBDT_OPTIONS: GbdtOptions = {
  rounds: 300,
  learningRate: 0.05,
  maxDepth: 4,
  maxLeaves: 0,
  minChildWeight: 1,
  lambda: 1,
  gamma: 0,
  subsample: 0.8,
  colsample: 0.8,
  maxBins: 256,
  earlyStoppingRounds: 30,
  seed: 42,
};

/** Rows to stop early on: row-major like the training matrix, missing inputs NaN. */
export interface GbdtValidation {
  x: Float64Array;
  y: ArrayLike<number>;
  rows: number;
}

export interface GbdtTrainInput extends Partial<GbdtOptions> {
  validation?: GbdtValidation;
  /** Called after every round with the validation log loss (NaN without validation rows). */
  onRound?: (round: number, validationLoss: number) => void;
}

export interface GbdtResult {
  /** The artifact's model: the trees up to and including `bestIteration`. */
  params: GbdtParams;
  /** The same trees in memory. */
  model: GbdtModel;
  /** 0-based round kept (the last one without validation rows). */
  bestIteration: number;
  /** Rounds actually run. */
  rounds: number;
  /** Mean validation log loss at `bestIteration`, when validation rows were given. */
  validationLoss?: number;
  /** Mean training log loss of the kept model (on all training rows). */
  trainLoss: number;
  ms: number;
}

/** Features cut into bins, in the two layouts the trainer needs. */
interface Binned {
  /** First global bin of each feature: feature f owns bins start[f] .. start[f] + count[f]. */
  start: Int32Array;
  /** Value bins of each feature; the missing bin is start[f] + count[f]. */
  count: Int32Array;
  /** cuts[f][b]: a value goes to a bin above b iff fround(value) >= cuts[f][b]. */
  cuts: Float32Array[];
  totalBins: number;
  /** Column-major global bin of every cell (bins[f * rows + r]): for routing rows at a split. */
  byColumn: Uint16Array | Int32Array;
  /**
   * Each row's global bins, leaving out each feature's most frequent value bin (CSR: row r's
   * bins are entries[rowStart[r] .. rowStart[r + 1]]). A histogram gets that bin as the node
   * total minus the feature's other bins, so one-hot columns, mostly zero, cost little.
   */
  rowStart: Int32Array;
  entries: Uint16Array | Int32Array;
  /** Global id of each feature's most frequent value bin (never the missing bin). */
  frequent: Int32Array;
}

/**
 * Cuts every column into at most `maxBins` quantile bins of its float32 values (ties kept in
 * one bin) plus one missing bin. A column with few distinct values gets one bin per value.
 */
function binFeatures(x: Float64Array, rows: number, cols: number, maxBins: number): Binned {
  const start = new Int32Array(cols);
  const count = new Int32Array(cols);
  const cuts: Float32Array[] = [];
  const values = new Float32Array(rows);
  let total = 0;
  for (let f = 0; f < cols; f++) {
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * cols + f];
      if (v === v) values[n++] = v;
    }
    const sorted = values.subarray(0, n).sort();
    let distinct = 0;
    for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
    const c: number[] = [];
    if (distinct <= maxBins) {
      for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) c.push(sorted[i]);
    } else {
      // Rank quantiles; a cut equal to the previous one (a heavy tie) is skipped, so popular
      // values keep a bin to themselves.
      for (let k = 1; k < maxBins; k++) {
        const v = sorted[Math.floor((k * n) / maxBins)];
        if (v > sorted[0] && (c.length === 0 || v > c[c.length - 1])) c.push(v);
      }
    }
    cuts.push(Float32Array.from(c));
    start[f] = total;
    count[f] = c.length + 1;
    total += c.length + 2;
  }
  const wide = total > 0xffff;
  const byColumn = wide ? new Int32Array(rows * cols) : new Uint16Array(rows * cols);
  const frequent = new Int32Array(cols);
  const tally = new Int32Array(total);
  for (let f = 0; f < cols; f++) {
    const c = cuts[f];
    const missing = start[f] + count[f];
    for (let r = 0; r < rows; r++) {
      const v = x[r * cols + f];
      let bin = missing;
      if (v === v) {
        const xf = Math.fround(v);
        // Bin = number of cuts <= xf (upper bound), so bin <= b iff xf < c[b].
        let lo = 0;
        let hi = c.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (c[mid] <= xf) lo = mid + 1;
          else hi = mid;
        }
        bin = start[f] + lo;
      }
      byColumn[f * rows + r] = bin;
      tally[bin]++;
    }
    let top = start[f];
    for (let b = start[f]; b < missing; b++) if (tally[b] > tally[top]) top = b;
    frequent[f] = top;
  }
  let nnz = 0;
  for (let f = 0; f < cols; f++) nnz += rows - tally[frequent[f]];
  const rowStart = new Int32Array(rows + 1);
  const entries = wide ? new Int32Array(nnz) : new Uint16Array(nnz);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    rowStart[r] = at;
    for (let f = 0; f < cols; f++) {
      const bin = byColumn[f * rows + r];
      if (bin !== frequent[f]) entries[at++] = bin;
    }
  }
  rowStart[rows] = at;
  return { start, count, cuts, totalBins: total, byColumn, rowStart, entries, frequent };
}

/** The best split found for a node. */
interface Split {
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
interface Candidate {
  node: number;
  begin: number;
  end: number;
  depth: number;
  g: number;
  h: number;
  hist: Float64Array;
  split: Split | null;
}

const NO_HIST = new Float64Array(0);

/** Whether a new leaf may be split further, so that it needs a histogram. */
function splittable(c: Candidate, o: GbdtOptions): boolean {
  return c.depth < o.maxDepth && c.h >= 2 * o.minChildWeight && c.end - c.begin >= 2;
}

/** A tree under construction, in growable arrays. */
class TreeBuilder {
  feature: number[] = [];
  value: number[] = [];
  left: number[] = [];
  right: number[] = [];
  defaultLeft: number[] = [];
  cover: number[] = [];
  /** Last bin going left and missing bin, for routing rows by bin. */
  splitBin: number[] = [];
  missingBin: number[] = [];

  add(cover: number): number {
    this.feature.push(-1);
    this.value.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.defaultLeft.push(0);
    this.cover.push(cover);
    this.splitBin.push(0);
    this.missingBin.push(0);
    return this.feature.length - 1;
  }

  toTree(): GbdtTree {
    return {
      feature: Int32Array.from(this.feature),
      value: Float32Array.from(this.value),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      cover: Float64Array.from(this.cover),
    };
  }
}

function logLossOf(y: ArrayLike<number>, margin: Float64Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const z = margin[i];
    // log(1 + e^z) − y z, stable for large |z|.
    sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i] * z;
  }
  return n ? sum / n : NaN;
}

/** Leaf a raw row reaches, by the edge scorer's float32 rule. */
function leafOf(tree: TreeBuilder, x: Float64Array, offset: number): number {
  let n = 0;
  while (tree.feature[n] >= 0) {
    const v = x[offset + tree.feature[n]];
    n = v !== v ? (tree.defaultLeft[n] ? tree.left[n] : tree.right[n]) : Math.fround(v) < tree.value[n] ? tree.left[n] : tree.right[n];
  }
  return n;
}

/**
 * Trains gradient-boosted trees with the logistic loss on a row-major matrix whose missing
 * inputs are NaN (`encodeRow(..., true)`), and returns them as the artifact's `GbdtParams`.
 * With `validation` rows it stops after `earlyStoppingRounds` rounds without improvement and
 * keeps the best round's trees.
 *
 * @example
 *   const fit = trainGbdt(train.x, yTrain, train.rows, train.cols, {
 *     maxDepth: 4, learningRate: 0.05, validation: { x: valid.x, y: yValid, rows: valid.rows },
 *   });
 *   artifact.model = fit.params; // fit.bestIteration + 1 trees
 */
export function trainGbdt(x: Float64Array, y: ArrayLike<number>, rows: number, cols: number, input: GbdtTrainInput = {}): GbdtResult {
  const started = performance.now();
  const { validation, onRound, ...rest } = input;
  const o: GbdtOptions = { ...DEFAULT_GBDT_OPTIONS, ...rest };
  checkOptions(o, x, y, rows, cols);
  const maxLeaves = o.maxLeaves > 0 ? o.maxLeaves : 2 ** Math.min(o.maxDepth, 30);
  const random = mulberry32(o.seed);

  let positives = 0;
  for (let i = 0; i < rows; i++) positives += y[i];
  const rate = Math.min(Math.max(positives / rows, 1e-6), 1 - 1e-6);
  const baseMargin = o.baseMargin ?? Math.log(rate / (1 - rate));

  const binned = binFeatures(x, rows, cols, o.maxBins);
  const { byColumn, start, count, totalBins } = binned;
  const margin = new Float64Array(rows).fill(baseMargin);
  // Gradient and hessian interleaved: a row's pair shares one cache line.
  const gh = new Float64Array(2 * rows);
  const idx = new Int32Array(rows);
  const scratch = new Int32Array(rows);
  const inSample = new Uint8Array(rows);
  const goesLeft = new Uint8Array(o.maxBins + 2);
  const validMargin = validation ? new Float64Array(validation.rows).fill(baseMargin) : null;

  // Histograms are reused across nodes and rounds; a depth-d tree holds at most 2^d at once.
  const pool: Float64Array[] = [];
  const takeHist = () => pool.pop() ?? new Float64Array(2 * totalBins);
  const giveHist = (h: Float64Array) => pool.push(h);

  const trees: GbdtTree[] = [];
  let bestIteration = -1;
  let bestLoss = Infinity;
  let rounds = 0;
  const colOrder = Int32Array.from({ length: cols }, (_, j) => j);
  const nCols = Math.max(1, Math.round(o.colsample * cols));

  for (let round = 0; round < o.rounds; round++) {
    // Row sample (Bernoulli, as XGBoost) and column sample (without replacement, sorted).
    let n = 0;
    if (o.subsample >= 1) for (let i = 0; i < rows; i++) idx[n++] = i;
    else {
      for (let i = 0; i < rows; i++) {
        const keep = random() < o.subsample;
        inSample[i] = keep ? 1 : 0;
        if (keep) idx[n++] = i;
      }
      if (n === 0) {
        idx[n] = Math.floor(random() * rows);
        inSample[idx[n++]] = 1;
      }
    }
    for (let k = 0; k < nCols; k++) {
      const j = k + Math.floor(random() * (cols - k));
      const t = colOrder[k];
      colOrder[k] = colOrder[j];
      colOrder[j] = t;
    }
    const features = colOrder.slice(0, nCols).sort();
    // Gradient and hessian of the log loss, for the sampled rows only.
    for (let k = 0; k < n; k++) {
      const i = idx[k];
      // exp(−z) may overflow to Infinity for very negative z; p is then exactly 0, still fine.
      const p = 1 / (1 + Math.exp(-margin[i]));
      gh[2 * i] = p - y[i];
      gh[2 * i + 1] = Math.max(p * (1 - p), 1e-16);
    }

    const tree = new TreeBuilder();
    let g0 = 0;
    let h0 = 0;
    for (let k = 0; k < n; k++) {
      g0 += gh[2 * idx[k]];
      h0 += gh[2 * idx[k] + 1];
    }
    const root: Candidate = { node: tree.add(h0), begin: 0, end: n, depth: 0, g: g0, h: h0, hist: takeHist(), split: null };
    buildHist(root.hist, binned, features, idx, 0, n, gh, g0, h0);
    root.split = o.maxDepth > 0 ? bestSplit(root, binned, features, o) : null;
    // `open` holds leaves with a split worth making (and their histogram); `done`, final leaves.
    const open: Candidate[] = [];
    const done: Candidate[] = [];
    const settle = (c: Candidate) => {
      if (c.split) open.push(c);
      else {
        if (c.hist !== NO_HIST) giveHist(c.hist);
        c.hist = NO_HIST;
        done.push(c);
      }
    };
    settle(root);
    let leaves = 1;
    while (open.length) {
      // Best-first: with no leaf cap this grows the same tree as level-by-level growth.
      let best = 0;
      for (let k = 1; k < open.length; k++) if ((open[k].split as Split).gain > (open[best].split as Split).gain) best = k;
      const c = open[best];
      open.splice(best, 1);
      const s = c.split as Split;
      if (leaves >= maxLeaves) {
        c.split = null;
        settle(c);
        continue;
      }
      leaves++;
      const missingBin = start[s.feature] + count[s.feature];
      // Which way each bin of the split feature goes, so routing a row is one load, no branch:
      // a random left/right pattern would mispredict half the time.
      const first = start[s.feature];
      for (let b = first; b < missingBin; b++) goesLeft[b - first] = b <= s.bin ? 1 : 0;
      goesLeft[missingBin - first] = s.defaultLeft ? 1 : 0;
      // Stable partition of the node's rows: left ones stay in front.
      let l = c.begin;
      let r = 0;
      const column = s.feature * rows;
      for (let k = c.begin; k < c.end; k++) {
        const row = idx[k];
        const left = goesLeft[byColumn[column + row] - first];
        idx[l] = row;
        scratch[r] = row;
        l += left;
        r += 1 - left;
      }
      idx.set(scratch.subarray(0, r), l);
      const node = c.node;
      tree.feature[node] = s.feature;
      tree.value[node] = s.threshold;
      tree.defaultLeft[node] = s.defaultLeft ? 1 : 0;
      tree.splitBin[node] = s.bin;
      tree.missingBin[node] = missingBin;
      const leftC: Candidate = { node: tree.add(s.hl), begin: c.begin, end: l, depth: c.depth + 1, g: s.gl, h: s.hl, hist: NO_HIST, split: null };
      const rightC: Candidate = { node: tree.add(c.h - s.hl), begin: l, end: c.end, depth: c.depth + 1, g: c.g - s.gl, h: c.h - s.hl, hist: NO_HIST, split: null };
      tree.left[node] = leftC.node;
      tree.right[node] = rightC.node;
      // Children that may split need histograms: build the smaller child's, and get the larger
      // one's as the parent's minus it, in place. Children at the depth limit need none, which
      // spares about half the work of a tree.
      const small = l - c.begin <= c.end - l ? leftC : rightC;
      const large = small === leftC ? rightC : leftC;
      const needSmall = splittable(small, o);
      const needLarge = splittable(large, o);
      if (needSmall || needLarge) {
        const sh = takeHist();
        buildHist(sh, binned, features, idx, small.begin, small.end, gh, small.g, small.h);
        if (needLarge) {
          const ph = c.hist;
          for (let b = 0, e = 2 * totalBins; b < e; b++) ph[b] -= sh[b];
          large.hist = ph;
          large.split = bestSplit(large, binned, features, o);
        } else giveHist(c.hist);
        if (needSmall) {
          small.hist = sh;
          small.split = bestSplit(small, binned, features, o);
        } else giveHist(sh);
      } else giveHist(c.hist);
      c.hist = NO_HIST;
      settle(leftC);
      settle(rightC);
    }
    for (const c of done) tree.value[c.node] = Math.fround((-c.g / (c.h + o.lambda)) * o.learningRate);

    // Sampled rows already sit in their leaves' ranges of idx; the others find theirs by bin.
    for (const c of done) {
      const v = tree.value[c.node];
      for (let k = c.begin; k < c.end; k++) margin[idx[k]] += v;
    }
    if (n < rows) {
      const feat = Int32Array.from(tree.feature);
      const lastLeft = Int32Array.from(tree.splitBin);
      const missing = Int32Array.from(tree.missingBin);
      const dl = Uint8Array.from(tree.defaultLeft);
      const left = Int32Array.from(tree.left);
      const right = Int32Array.from(tree.right);
      const value = Float64Array.from(tree.value);
      for (let i = 0; i < rows; i++) {
        if (inSample[i]) continue;
        let nd = 0;
        while (feat[nd] >= 0) {
          const b = byColumn[feat[nd] * rows + i];
          nd = (b === missing[nd] ? dl[nd] === 1 : b <= lastLeft[nd]) ? left[nd] : right[nd];
        }
        margin[i] += value[nd];
      }
    }
    trees.push(tree.toTree());
    rounds = round + 1;

    let validLoss = NaN;
    if (validation && validMargin) {
      for (let i = 0; i < validation.rows; i++) validMargin[i] += tree.value[leafOf(tree, validation.x, i * cols)];
      validLoss = logLossOf(validation.y, validMargin, validation.rows);
      // A gain smaller than 1e-7 is noise in the sixth decimal: it does not reset patience.
      if (validLoss < bestLoss - 1e-7 || bestIteration < 0) {
        bestLoss = validLoss;
        bestIteration = round;
      }
    } else bestIteration = round;
    onRound?.(round, validLoss);
    if (validation && o.earlyStoppingRounds > 0 && round - bestIteration >= o.earlyStoppingRounds) break;
  }

  const kept = trees.slice(0, bestIteration + 1);
  // The kept model's training loss: the margins minus the trees after the best one.
  if (kept.length < trees.length) {
    for (let t = kept.length; t < trees.length; t++) {
      const tr = trees[t];
      for (let i = 0; i < rows; i++) {
        let nd = 0;
        while (tr.feature[nd] >= 0) {
          const v = x[i * cols + tr.feature[nd]];
          nd = v !== v ? (tr.defaultLeft[nd] ? tr.left[nd] : tr.right[nd]) : Math.fround(v) < tr.value[nd] ? tr.left[nd] : tr.right[nd];
        }
        margin[i] -= tr.value[nd];
      }
    }
  }
  const model: GbdtModel = { baseMargin, trees: kept };
  return {
    params: encodeGbdt(model),
    model,
    bestIteration,
    rounds,
    ...(validation ? { validationLoss: bestLoss } : {}),
    trainLoss: logLossOf(y, margin, rows),
    ms: performance.now() - started,
  };
}

function checkOptions(o: GbdtOptions, x: Float64Array, y: ArrayLike<number>, rows: number, cols: number): void {
  if (!(rows > 0 && cols > 0) || x.length < rows * cols) throw new RangeError(`matrix of ${x.length} values is not ${rows} × ${cols}`);
  if (y.length < rows) throw new RangeError(`${y.length} labels for ${rows} rows`);
  for (let i = 0; i < rows; i++) if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`labels must be 0 or 1, row ${i} has ${y[i]}`);
  const positive = (name: keyof GbdtOptions, v: number) => {
    if (!(v > 0)) throw new RangeError(`${name} must be > 0, got ${v}`);
  };
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new RangeError(`rounds must be a whole number >= 1, got ${o.rounds}`);
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 0) throw new RangeError(`maxDepth must be a whole number >= 0, got ${o.maxDepth}`);
  positive("learningRate", o.learningRate);
  if (!(o.minChildWeight >= 0)) throw new RangeError(`minChildWeight must be >= 0, got ${o.minChildWeight}`);
  if (!(o.lambda >= 0)) throw new RangeError(`lambda must be >= 0, got ${o.lambda}`);
  if (!(o.gamma >= 0)) throw new RangeError(`gamma must be >= 0, got ${o.gamma}`);
  if (!(o.subsample > 0 && o.subsample <= 1)) throw new RangeError(`subsample must be in (0, 1], got ${o.subsample}`);
  if (!(o.colsample > 0 && o.colsample <= 1)) throw new RangeError(`colsample must be in (0, 1], got ${o.colsample}`);
  if (!Number.isInteger(o.maxBins) || o.maxBins < 2) throw new RangeError(`maxBins must be a whole number >= 2, got ${o.maxBins}`);
  if (cols > 0x7fff) throw new RangeError(`at most 32,767 encoded columns fit the tree format, got ${cols}`);
}

/**
 * Sums gradient and hessian of rows idx[begin..end) into `hist` (interleaved g, h per bin),
 * given the node's totals `g`, `h`. Only the sampled `features` come out right.
 */
function buildHist(hist: Float64Array, binned: Binned, features: Int32Array, idx: Int32Array, begin: number, end: number, gh: Float64Array, g: number, h: number): void {
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

/** The best split of a node over the sampled features, or null when none gains anything. */
function bestSplit(c: Candidate, binned: Binned, features: Int32Array, o: GbdtOptions): Split | null {
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
