/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2, as XGBoost's
 * `pred_contribs`) over a tree ensemble in pointer form: the drivers behind `GbdtScorer`. Kept
 * apart from scoring because it needs its own scratch path and ratio tables, and its recursion
 * shares nothing with the heap descent that scores rows.
 */

/** All trees of an ensemble concatenated in pointer form: split n's children are `left[n]` and `left[n] + 1`. */
export interface PointerTrees {
  /** First node of each tree. */
  roots: Int32Array;
  /** Encoded column each split tests; -1 marks a leaf. */
  feature: Int32Array;
  /** Split threshold (float32) for splits; leaf value for leaves. */
  value: Float32Array;
  /** Left child of each split; its right child is the next node. */
  left: Int32Array;
  /** 1 where missing inputs go left. */
  defaultLeft: Uint8Array;
  /** Hessian sum of the training rows reaching each node. */
  cover: Float64Array;
}

/**
 * TreeSHAP for one ensemble, with its scratch space allocated once: `maxDepth` must be the
 * ensemble's depth, which sizes the path and the ratio tables. The arrays are shared with the
 * caller, not copied.
 *
 * @example
 *   const shap = new TreeShap({ roots, feature, value, left, defaultLeft, cover }, maxDepth);
 *   shap.add(xf, encodedOwners(spec), out); // out[owner] += each column's SHAP value
 */
export class TreeShap {
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly value: Float32Array;
  private readonly left: Int32Array;
  private readonly defaultLeft: Uint8Array;
  private readonly cover: Float64Array;
  private readonly ratios: Ratios;
  private readonly hotScratch: Int32Array;
  private readonly path: { feature: Int32Array; zero: Float64Array; one: Float64Array; weight: Float64Array };
  /** The row being explained, set by `add` for the recursion to read. */
  private xf: Float32Array = new Float32Array(0);

  constructor(trees: PointerTrees, maxDepth: number) {
    this.roots = trees.roots;
    this.feature = trees.feature;
    this.value = trees.value;
    this.left = trees.left;
    this.defaultLeft = trees.defaultLeft;
    this.cover = trees.cover;
    const pathSize = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.path = { feature: new Int32Array(pathSize), zero: new Float64Array(pathSize), one: new Float64Array(pathSize), weight: new Float64Array(pathSize) };
    this.ratios = ratioTables(maxDepth + 2);
    this.hotScratch = new Int32Array(maxDepth + 2);
  }

  /**
   * Adds the SHAP value of each encoded column j of the float32 row `xf` (NaN = missing) into
   * `out[owners[j]]`; `out` is not cleared first.
   *
   * @example
   *   shap.add(Float32Array.from(x), owners, out);
   */
  add(xf: Float32Array, owners: Int32Array, out: Float64Array): void {
    this.xf = xf;
    for (let t = 0; t < this.roots.length; t++) this.treeShap(this.roots[t], 0, 0, 0, 1, 1, -1, owners, out);
  }

  // The path is a triangular stack of frames: a node at unique depth d owns d + 1 elements
  // starting at `start`, copied from its parent's frame at `from`, so siblings see the same path.
  private treeShap(node: number, from: number, start: number, depth: number, parentZero: number, parentOne: number, parentFeature: number, owners: Int32Array, out: Float64Array): void {
    const { feature: pf, zero: pz, one: po, weight: pw } = this.path;
    for (let i = 0; i < depth; i++) {
      pf[start + i] = pf[from + i];
      pz[start + i] = pz[from + i];
      po[start + i] = po[from + i];
      pw[start + i] = pw[from + i];
    }
    extendPath(this.ratios, pf, pz, po, pw, start, depth, parentZero, parentOne, parentFeature);

    const f = this.feature[node];
    if (f < 0) {
      const leafValue = this.value[node];
      const r = this.ratios;
      const row = depth * r.size;
      // An element with one = 0 has unwound sum Σ_i weight_i·(d+1)/(d−i) over its zero
      // fraction: the sum is the same for all of them, so it is taken once per leaf.
      let coldSum = 0;
      for (let i = 0; i < depth; i++) coldSum += pw[start + i] * r.invDown[row + i];
      const hot = this.hotScratch;
      let nh = 0;
      for (let i = 1; i <= depth; i++) {
        const one = po[start + i];
        const zero = pz[start + i];
        if (one !== 0) hot[nh++] = i;
        // w·(one − zero)·leaf with w = coldSum / zero and one = 0.
        else if (zero !== 0) out[owners[pf[start + i]]] -= coldSum * leafValue;
      }
      // Elements with one ≠ 0 each need a serial recurrence over the path; four run side by
      // side so the CPU overlaps their multiply chains (a lone chain is latency-bound).
      for (let q = 0; q < nh; q += 4) {
        const k0 = hot[q];
        const k1 = q + 1 < nh ? hot[q + 1] : k0;
        const k2 = q + 2 < nh ? hot[q + 2] : k0;
        const k3 = q + 3 < nh ? hot[q + 3] : k0;
        const z0 = pz[start + k0];
        const z1 = pz[start + k1];
        const z2 = pz[start + k2];
        const z3 = pz[start + k3];
        const o0 = 1 / po[start + k0];
        const o1 = 1 / po[start + k1];
        const o2 = 1 / po[start + k2];
        const o3 = 1 / po[start + k3];
        let n0 = pw[start + depth];
        let n1 = n0;
        let n2 = n0;
        let n3 = n0;
        let w0 = 0;
        let w1 = 0;
        let w2 = 0;
        let w3 = 0;
        for (let i = depth - 1; i >= 0; i--) {
          const iu = r.invUp[row + i];
          const dn = r.down[row + i];
          const p = pw[start + i];
          const t0 = n0 * iu * o0;
          const t1 = n1 * iu * o1;
          const t2 = n2 * iu * o2;
          const t3 = n3 * iu * o3;
          w0 += t0;
          w1 += t1;
          w2 += t2;
          w3 += t3;
          n0 = p - t0 * z0 * dn;
          n1 = p - t1 * z1 * dn;
          n2 = p - t2 * z2 * dn;
          n3 = p - t3 * z3 * dn;
        }
        out[owners[pf[start + k0]]] += w0 * (po[start + k0] - z0) * leafValue;
        if (q + 1 < nh) out[owners[pf[start + k1]]] += w1 * (po[start + k1] - z1) * leafValue;
        if (q + 2 < nh) out[owners[pf[start + k2]]] += w2 * (po[start + k2] - z2) * leafValue;
        if (q + 3 < nh) out[owners[pf[start + k3]]] += w3 * (po[start + k3] - z3) * leafValue;
      }
      return;
    }
    const v = this.xf[f];
    const l = this.left[node];
    const goLeft = v < this.value[node] || (v !== v && this.defaultLeft[node] === 1);
    const hot = goLeft ? l : l + 1;
    const cold = goLeft ? l + 1 : l;
    const c = this.cover[node];
    const hotZero = c > 0 ? this.cover[hot] / c : 0.5;
    const coldZero = c > 0 ? this.cover[cold] / c : 0.5;
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    // A feature already on the path is unwound first: its two visits merge into one element.
    let k = 1;
    while (k <= d && pf[start + k] !== f) k++;
    if (k <= d) {
      incomingZero = pz[start + k];
      incomingOne = po[start + k];
      unwindPath(this.ratios, pf, pz, po, pw, start, d, k);
      d -= 1;
    }
    const next = start + depth + 1;
    this.treeShap(hot, start, next, d + 1, hotZero * incomingZero, incomingOne, f, owners, out);
    this.treeShap(cold, start, next, d + 1, coldZero * incomingZero, 0, f, owners, out);
  }
}

// The path routines follow XGBoost's tree_model.cc (ExtendPath, UnwindPath; UnwoundPathSum is
// inlined at the leaves in `treeShap`) over parallel arrays; `s` is the frame start, `d` the
// frame's last index. The ratios (i+1)/(d+1), (d−i)/(d+1) and their inverses come from tables
// (see `ratioTables`) and 1/one, 1/zero are taken once per call: divisions were most of the time.

/** Per (d, i), at d·size + i: up = (i+1)/(d+1), down = (d−i)/(d+1), and their inverses. */
interface Ratios {
  size: number;
  up: Float64Array;
  down: Float64Array;
  invUp: Float64Array;
  invDown: Float64Array;
}

function ratioTables(maxD: number): Ratios {
  const size = maxD + 1;
  const r: Ratios = { size, up: new Float64Array(size * size), down: new Float64Array(size * size), invUp: new Float64Array(size * size), invDown: new Float64Array(size * size) };
  for (let d = 0; d < size; d++) {
    for (let i = 0; i <= d; i++) {
      r.up[d * size + i] = (i + 1) / (d + 1);
      r.down[d * size + i] = (d - i) / (d + 1);
      r.invUp[d * size + i] = (d + 1) / (i + 1);
      r.invDown[d * size + i] = i < d ? (d + 1) / (d - i) : 0;
    }
  }
  return r;
}

function extendPath(r: Ratios, pf: Int32Array, pz: Float64Array, po: Float64Array, pw: Float64Array, s: number, d: number, zero: number, one: number, feature: number): void {
  pf[s + d] = feature;
  pz[s + d] = zero;
  po[s + d] = one;
  pw[s + d] = d === 0 ? 1 : 0;
  const row = d * r.size;
  for (let i = d - 1; i >= 0; i--) {
    pw[s + i + 1] += one * pw[s + i] * r.up[row + i];
    pw[s + i] = zero * pw[s + i] * r.down[row + i];
  }
}

function unwindPath(r: Ratios, pf: Int32Array, pz: Float64Array, po: Float64Array, pw: Float64Array, s: number, d: number, k: number): void {
  const one = po[s + k];
  const zero = pz[s + k];
  const row = d * r.size;
  let nextOne = pw[s + d];
  if (one !== 0) {
    const invOne = 1 / one;
    for (let i = d - 1; i >= 0; i--) {
      const tmp = pw[s + i];
      pw[s + i] = nextOne * r.invUp[row + i] * invOne;
      nextOne = tmp - pw[s + i] * zero * r.down[row + i];
    }
  } else {
    const invZero = 1 / zero;
    for (let i = d - 1; i >= 0; i--) pw[s + i] = pw[s + i] * r.invDown[row + i] * invZero;
  }
  for (let i = k; i < d; i++) {
    pf[s + i] = pf[s + i + 1];
    pz[s + i] = pz[s + i + 1];
    po[s + i] = po[s + i + 1];
  }
}
