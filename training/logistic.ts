/**
 * Fits the churn model, a logistic regression over the encoded columns, with TensorFlow.js on
 * its pure-JS cpu backend: Adam on seeded mini-batches with a small L2 penalty, and early
 * stopping on an internal validation slice of the training rows. The fitted intercept and
 * weights are read back as plain numbers for the artifact; scoring at the edge never needs tfjs.
 */
import * as tf from "@tensorflow/tfjs";
import { mulberry32, shuffleInPlace, stratifiedSplit } from "./split";

export interface FitOptions {
  /** Upper bound on passes over the training rows; early stopping usually ends sooner. */
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the weights (not the intercept), added to the mean log loss. */
  l2: number;
  /** Seeds the validation slice and the mini-batch order, so a fit is reproducible. */
  seed: number;
  /** Share of the training rows held back to decide when to stop; 0 trains for `epochs`. */
  validationFraction: number;
  /**
   * After this many epochs without the validation loss improving by `minDelta`, go back to the
   * best weights and continue with the learning rate times `lrFactor`; after `lrReductions`
   * such steps, stop. Small final steps settle Adam near the optimum instead of jittering.
   */
  patience: number;
  minDelta: number;
  lrFactor: number;
  lrReductions: number;
  /** Called after every epoch, e.g. to print progress. */
  onEpoch?: (epoch: number, validationLoss: number | null) => void;
}

/** The settings the train CLI uses. */
export const DEFAULT_FIT_OPTIONS: FitOptions = {
  epochs: 200,
  batchSize: 256,
  learningRate: 0.02,
  l2: 1e-4,
  seed: 42,
  validationFraction: 0.1,
  patience: 5,
  minDelta: 1e-5,
  lrFactor: 0.25,
  lrReductions: 3,
};

export interface FitResult {
  intercept: number;
  weights: number[];
  /** Epochs run, and the epoch whose weights were kept (the best validation loss). */
  epochs: number;
  bestEpoch: number;
  /** Mean log loss on the rows fitted on (without the L2 term), and on the validation slice. */
  trainLoss: number;
  validationLoss: number | null;
  ms: number;
}

let backendReady: Promise<void> | null = null;

/**
 * Selects tfjs's cpu backend once. `PROD` silences tfjs's console advert for tfjs-node,
 * which does not install here, and skips debug checks we do not need.
 */
export function ensureBackend(): Promise<void> {
  backendReady ??= (async () => {
    tf.env().set("PROD", true);
    await tf.setBackend("cpu");
    await tf.ready();
  })();
  return backendReady;
}

/** The rows `rows` of the row-major matrix `x` as a float32 tensor. */
export function toTensor2d(x: Float64Array, rows: number[], cols: number): tf.Tensor2D {
  const out = new Float32Array(rows.length * cols);
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r] * cols, rows[r] * cols + cols), r * cols);
  return tf.tensor2d(out, [rows.length, cols]);
}

function labelTensor(y: ArrayLike<number>, rows: number[]): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(rows, (r) => y[r]), [rows.length, 1]);
}

/**
 * Fits p = sigmoid(intercept + w·x) to 0/1 labels `y` on the row-major matrix `x`
 * (`rows` × `cols`), starting from zero weights.
 *
 * @example
 *   const fit = await fitLogistic(m.x, labels, m.rows, m.cols, { seed: 7 });
 *   // fit.intercept, fit.weights: plain numbers ready for the artifact
 */
export async function fitLogistic(
  x: Float64Array,
  y: ArrayLike<number>,
  rows: number,
  cols: number,
  options: Partial<FitOptions> = {},
): Promise<FitResult> {
  const o: FitOptions = { ...DEFAULT_FIT_OPTIONS, ...options };
  if (x.length !== rows * cols) throw new RangeError(`matrix has ${x.length} cells, expected ${rows} × ${cols}`);
  await ensureBackend();
  const started = performance.now();

  const all = Array.from({ length: rows }, (_, i) => i);
  let fitRows = all;
  let validRows: number[] = [];
  const positives = Array.from(y).reduce((n, v) => n + v, 0);
  // An internal slice decides when to stop; skipped when there is too little data to spare.
  if (o.validationFraction > 0 && rows >= 50 && positives >= 10 && rows - positives >= 10) {
    const inner = stratifiedSplit(y, { fraction: o.validationFraction, seed: o.seed ^ 0x5bd1e995 });
    fitRows = inner.train;
    validRows = inner.holdout;
  }

  const xFit = toTensor2d(x, fitRows, cols);
  const yFit = labelTensor(y, fitRows);
  const xValid = validRows.length ? toTensor2d(x, validRows, cols) : null;
  const yValid = validRows.length ? labelTensor(y, validRows) : null;
  // Zero start: the loss is convex, so the seed only matters for batch order and the slice.
  const w = tf.tidy(() => tf.variable(tf.zeros([cols, 1])));
  const b = tf.tidy(() => tf.variable(tf.zeros([1])));
  let learningRate = o.learningRate;
  let optimizer = tf.train.adam(learningRate);
  let reductions = 0;
  const random = mulberry32(o.seed);
  const order = Int32Array.from(fitRows.keys());

  const meanLoss = (xs: tf.Tensor2D, ys: tf.Tensor2D): number =>
    tf.tidy(() => tf.losses.sigmoidCrossEntropy(ys, xs.matMul(w).add(b)).dataSync()[0]);

  let best = Infinity;
  let bestEpoch = 0;
  let bestW = w.dataSync().slice();
  let bestB = b.dataSync()[0];
  let epoch = 0;
  let plateau = 0;
  const restore = () =>
    tf.tidy(() => {
      w.assign(tf.tensor2d(bestW, [cols, 1]));
      b.assign(tf.tensor1d([bestB]));
    });
  try {
    while (epoch < o.epochs) {
      epoch++;
      shuffleInPlace(order, random);
      tf.tidy(() => {
        const idx = tf.tensor1d(order, "int32");
        const xs = tf.gather(xFit, idx);
        const ys = tf.gather(yFit, idx);
        for (let start = 0; start < order.length; start += o.batchSize) {
          const size = Math.min(o.batchSize, order.length - start);
          const xb = xs.slice([start, 0], [size, cols]);
          const yb = ys.slice([start, 0], [size, 1]);
          optimizer.minimize(
            () => tf.losses.sigmoidCrossEntropy(yb, xb.matMul(w).add(b)).add(w.square().sum().mul(o.l2)) as tf.Scalar,
            false,
            [w, b],
          );
        }
      });
      const validationLoss = xValid && yValid ? meanLoss(xValid, yValid) : null;
      o.onEpoch?.(epoch, validationLoss);
      // Without a validation slice, watch the training objective: the fit is convex, so its
      // plateau is the optimum.
      const monitored = validationLoss ?? meanLoss(xFit, yFit) + o.l2 * tf.tidy(() => w.square().sum().dataSync()[0]);
      if (monitored < best - o.minDelta) {
        best = monitored;
        bestEpoch = epoch;
        bestW = w.dataSync().slice();
        bestB = b.dataSync()[0];
        plateau = 0;
      } else if (++plateau >= o.patience) {
        if (reductions++ >= o.lrReductions) break;
        // Restart from the best point with a smaller step; Adam's moments start afresh.
        restore();
        optimizer.dispose();
        learningRate *= o.lrFactor;
        optimizer = tf.train.adam(learningRate);
        plateau = 0;
      }
    }
    restore();
    const trainLoss = meanLoss(xFit, yFit);
    return {
      intercept: b.dataSync()[0],
      weights: Array.from(w.dataSync()),
      epochs: epoch,
      bestEpoch,
      trainLoss,
      validationLoss: xValid ? best : null,
      ms: performance.now() - started,
    };
  } finally {
    for (const t of [xFit, yFit, xValid, yValid, w, b]) t?.dispose();
    optimizer.dispose();
  }
}

/**
 * Churn probabilities for each row of `x` from tfjs's own `predict`, on a one-layer model
 * (dense, sigmoid) carrying the given parameters. The golden test holds the plain-TS scorer
 * to these numbers.
 */
export async function predictProbabilities(
  params: { intercept: number; weights: number[] },
  x: Float64Array,
  rows: number,
  cols: number,
): Promise<Float64Array> {
  if (params.weights.length !== cols) throw new RangeError(`${params.weights.length} weights for ${cols} columns`);
  await ensureBackend();
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [cols], activation: "sigmoid" })] });
  try {
    const kernel = tf.tensor2d(params.weights, [cols, 1]);
    const bias = tf.tensor1d([params.intercept]);
    model.setWeights([kernel, bias]); // copies the values in
    kernel.dispose();
    bias.dispose();
    const p = tf.tidy(() => (model.predict(toTensor2d(x, Array.from({ length: rows }, (_, i) => i), cols)) as tf.Tensor).dataSync());
    return Float64Array.from(p);
  } finally {
    model.dispose();
  }
}
