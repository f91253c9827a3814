/**
 * Fits a small multilayer perceptron (ReLU hidden layers, log-odds output) with tfjs, with
 * early stopping on an internal validation slice. Weights are read back as plain numbers for
 * the artifact; the edge scores it with `shared/model/mlp.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import type { MlpParams } from "../shared/model/artifact";
import { ensureBackend, toTensor2d } from "./logistic";
import { stratifiedSplit } from "./split";

export interface MlpOptions {
  hidden: number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  patience: number;
  validationFraction: number;
  seed: number;
}

export const DEFAULT_MLP_OPTIONS: MlpOptions = { hidden: [32, 16], epochs: 100, batchSize: 128, learningRate: 0.003, l2: 1e-4, patience: 6, validationFraction: 0.15, seed: 42 };

/**
 * Fits an MLP on the row-major matrix `x` (`rows` × `cols`) and 0/1 labels `y`.
 *
 * @example
 *   const { params } = await fitMlp(m.x, y, m.rows, m.cols, { hidden: [32, 16] });
 */
export async function fitMlp(x: Float64Array, y: ArrayLike<number>, rows: number, cols: number, options: Partial<MlpOptions> = {}): Promise<{ params: MlpParams; epochs: number; ms: number }> {
  const o = { ...DEFAULT_MLP_OPTIONS, ...options };
  await ensureBackend();
  const started = performance.now();
  const inner = stratifiedSplit(y, { fraction: o.validationFraction, seed: o.seed ^ 0x2545f491 });
  const xs = toTensor2d(x, inner.train, cols);
  const ys = tf.tensor2d(Float32Array.from(inner.train, (r) => y[r]), [inner.train.length, 1]);
  const xv = toTensor2d(x, inner.holdout, cols);
  const yv = tf.tensor2d(Float32Array.from(inner.holdout, (r) => y[r]), [inner.holdout.length, 1]);
  const model = tf.sequential();
  o.hidden.forEach((units, k) =>
    model.add(
      tf.layers.dense({
        units,
        activation: "relu",
        inputShape: k === 0 ? [cols] : undefined,
        kernelInitializer: tf.initializers.heNormal({ seed: o.seed + k }),
        kernelRegularizer: tf.regularizers.l2({ l2: o.l2 }),
      }),
    ),
  );
  model.add(tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 99 }) }));
  model.compile({ optimizer: tf.train.adam(o.learningRate), loss: (yt: tf.Tensor, yp: tf.Tensor) => tf.losses.sigmoidCrossEntropy(yt, yp) });
  let best = Infinity;
  let bestWeights: tf.Tensor[] = [];
  let epochs = 0;
  let since = 0;
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      await model.fit(xs, ys, { epochs: 1, batchSize: o.batchSize, shuffle: true, verbose: 0 });
      epochs++;
      const loss = tf.tidy(() => (tf.losses.sigmoidCrossEntropy(yv, model.predict(xv) as tf.Tensor) as tf.Scalar).dataSync()[0]);
      if (loss < best - 1e-5) {
        best = loss;
        bestWeights.forEach((t) => t.dispose());
        bestWeights = model.getWeights().map((t) => t.clone());
        since = 0;
      } else if (++since >= o.patience) break;
    }
    model.setWeights(bestWeights);
    const layers = model.layers.map((layer) => {
      const [kernel, bias] = layer.getWeights();
      const [inputs, outputs] = kernel.shape as [number, number];
      return { inputs, outputs, weights: Array.from(kernel.dataSync()), bias: Array.from(bias.dataSync()) };
    });
    return { params: { family: "mlp", layers }, epochs, ms: performance.now() - started };
  } finally {
    bestWeights.forEach((t) => t.dispose());
    for (const t of [xs, ys, xv, yv]) t.dispose();
    model.dispose();
  }
}

/** tfjs's own log-odds for the rows of `x`, for golden tests against the edge scorer. */
export async function predictMlpMargins(params: MlpParams, x: Float64Array, rows: number, cols: number): Promise<Float64Array> {
  await ensureBackend();
  const out = tf.tidy(() => {
    let h: tf.Tensor = tf.tensor2d(Float32Array.from(x), [rows, cols]);
    params.layers.forEach((l, k) => {
      h = h.matMul(tf.tensor2d(l.weights, [l.inputs, l.outputs])).add(tf.tensor1d(l.bias));
      if (k < params.layers.length - 1) h = h.relu();
    });
    return h;
  });
  const margins = Float64Array.from(out.dataSync());
  out.dispose();
  return margins;
}
