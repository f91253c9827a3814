/**
 * Multilayer perceptron scorer over typed arrays: ReLU hidden layers, a linear output read as
 * log-odds. Trained with tfjs offline; scored here without it.
 */
import type { MlpParams } from "./artifact";

export class MlpScorer {
  private readonly layers: { inputs: number; outputs: number; w: Float64Array; b: Float64Array }[];
  private readonly buffers: Float64Array[];

  constructor(params: MlpParams) {
    this.layers = params.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, w: Float64Array.from(l.weights), b: Float64Array.from(l.bias) }));
    this.buffers = this.layers.map((l) => new Float64Array(l.outputs));
  }

  /** Log-odds for the row at `offset`; weights are row-major [input][output] as tfjs stores them. */
  margin(x: Float64Array, offset = 0): number {
    let input: Float64Array = x;
    let base = offset;
    for (let k = 0; k < this.layers.length; k++) {
      const { inputs, outputs, w, b } = this.layers[k];
      const out = this.buffers[k];
      out.set(b);
      for (let i = 0; i < inputs; i++) {
        const v = input[base + i];
        if (v === 0) continue;
        const row = i * outputs;
        for (let o = 0; o < outputs; o++) out[o] += v * w[row + o];
      }
      if (k < this.layers.length - 1) for (let o = 0; o < outputs; o++) if (out[o] < 0) out[o] = 0;
      input = out;
      base = 0;
    }
    return input[0];
  }
}
