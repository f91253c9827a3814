/**
 * Histogram-based gradient-boosted trees, in plain TypeScript over typed arrays, single-threaded
 * and deterministic for a seed: for churn (binary logistic loss, the default) and for regression
 * (squared error, quantile and Poisson losses: `gbdt/objectives.ts`).
 *
 * The recipe is XGBoost's `tree_method="hist"`: every feature is cut once into up to `maxBins`
 * quantile bins (plus a bin for missing values); each round fits one tree to the gradient and
 * hessian of the loss by summing them into per-node histograms (building the smaller child
 * and deriving its sibling by subtraction), and scores every split with the second-order gain
 * G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ). At every split both sides are tried for the rows whose
 * value is missing and the better one becomes the split's default direction, so trees learn
 * what missingness means. Leaves are −G/(H+λ) times the learning rate (the quantile loss sets
 * them to its residual quantile instead).
 *
 * Where a node has no missing values, unseen missing values follow the child with more hessian.
 *
 * Split thresholds are float32 bin boundaries, and a row goes left iff fround(x) < threshold,
 * exactly as the edge scorer (`shared/model/gbdt/`) and XGBoost decide, so a training row's
 * margin during boosting equals its margin at the edge, bit for bit.
 *
 * Speed (Telco, 300 trees of depth 4: about XGBoost's single-thread time; see bench/): rows are
 * stored as sparse lists of bins that leave out each feature's most frequent bin, recovered per
 * node as total minus the rest (one-hot columns are mostly that bin); children at the depth
 * limit get no histogram; rows are partitioned through a per-split bin → side table without
 * branches.
 *
 * The boosting loop is here; its parts sit in `gbdt/`: settings and result (`options.ts`),
 * the losses (`objectives.ts`), binning (`bins.ts`), histograms and split finding
 * (`splits.ts`), the growing tree (`tree-builder.ts`).
 */
import { encodeGbdt, type GbdtModel, type GbdtTree } from "../shared/model/gbdt/format";
import { binFeatures } from "./gbdt/bins";
import { objectiveOf } from "./gbdt/objectives";
import { checkOptions, DEFAULT_GBDT_OPTIONS, type GbdtOptions, type GbdtResult, type GbdtTrainInput } from "./gbdt/options";
import { bestSplit, buildHist, type Candidate, NO_HIST, type Split, splittable } from "./gbdt/splits";
import { leafOf, TreeBuilder } from "./gbdt/tree-builder";
import { mulberry32 } from "./split";

export type { GbdtObjective } from "./gbdt/objectives";
export { DEFAULT_GBDT_OPTIONS, type GbdtOptions, type GbdtResult, type GbdtTrainInput, type GbdtValidation } from "./gbdt/options";

/**
 * Trains gradient-boosted trees (the logistic loss unless `objective` says otherwise) on a
 * row-major matrix whose missing inputs are NaN (`encodeRow(..., true)`), and returns them as
 * the artifact's `GbdtParams`; `GbdtScorer.margin` then gives the log-odds (logistic), the
 * prediction (squared, quantile) or the log of the mean (Poisson). With `validation` rows it
 * stops after `earlyStoppingRounds` rounds without improvement and keeps the best round's trees.
 *
 * @example
 *   const fit = trainGbdt(train.x, yTrain, train.rows, train.cols, {
 *     maxDepth: 4, learningRate: 0.05, validation: { x: valid.x, y: yValid, rows: valid.rows },
 *   });
 *   artifact.model = fit.params; // fit.bestIteration + 1 trees
 *   const q95 = trainGbdt(x, change, rows, cols, { objective: "quantile", alpha: 0.95 });
 */
export function trainGbdt(x: Float64Array, y: ArrayLike<number>, rows: number, cols: number, input: GbdtTrainInput = {}): GbdtResult {
  const started = performance.now();
  const { validation, onRound, ...rest } = input;
  const o: GbdtOptions = { ...DEFAULT_GBDT_OPTIONS, ...rest };
  checkOptions(o, x, y, rows, cols);
  const maxLeaves = o.maxLeaves > 0 ? o.maxLeaves : 2 ** Math.min(o.maxDepth, 30);
  const random = mulberry32(o.seed);
  const objective = objectiveOf(o.objective, o.alpha, rows);
  const baseMargin = o.baseMargin ?? objective.base(y, rows);

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
    // Gradient and hessian of the loss, for the sampled rows only.
    objective.gradients(y, margin, idx, n, gh);

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
    const leaf = objective.leaf;
    if (leaf) for (const c of done) tree.value[c.node] = Math.fround(leaf(y, margin, idx, c.begin, c.end) * o.learningRate);
    else for (const c of done) tree.value[c.node] = Math.fround((-c.g / (c.h + o.lambda)) * o.learningRate);

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
      validLoss = objective.loss(validation.y, validMargin, validation.rows);
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
    trainLoss: objective.loss(y, margin, rows),
    ms: performance.now() - started,
  };
}
