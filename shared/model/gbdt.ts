/**
 * Gradient-boosted tree ensembles at the edge: scoring and exact TreeSHAP over flat typed arrays,
 * in plain TypeScript (no Node, DOM or tfjs; runs in Cloudflare Workers).
 *
 * ## Semantics (the same as XGBoost's)
 * margin = baseMargin + Σ over trees of the leaf a row reaches. At a split on encoded column f
 * with threshold t (a float32), a row goes left iff `Math.fround(x[f]) < t`; a missing input
 * (NaN) goes to the node's learned default side. Covers are hessian sums of the training rows
 * reaching each node; TreeSHAP weighs unseen branches by them.
 *
 * ## Serialized layout (`GbdtParams.nodes`; every value is base64 of a little-endian array)
 * Each tree's nodes are stored in breadth-first order with the two children of a split next to
 * each other, so child positions never need storing: the k-th split (0-based, counting splits
 * only, in breadth-first order) of a tree has its left child at node 2k + 1 and its right child
 * at 2k + 2 of that tree. All trees are concatenated.
 *
 * | name    | type         | length            | holds |
 * |---------|--------------|-------------------|-------|
 * | `size`  | Uint32Array  | trees             | node count of each tree |
 * | `split` | Uint16Array  | all nodes         | 0 for a leaf; else (feature + 1), plus 0x8000 when missing values go left |
 * | `value` | Float32Array | all nodes         | the split threshold, or the leaf value |
 * | `cover` | Float32Array | all leaves        | each leaf's cover, leaves in node order; a split's cover is the sum of its leaves' |
 *
 * A full depth-6 tree is 127 nodes × 6 bytes + 64 leaves × 4 bytes ≈ 1 KB, so 300 such trees
 * are about 407 KB of base64. Features are limited to 32,767 encoded columns.
 *
 * Only leaves store covers: a split's cover is the sum of its children's (both are hessian sums
 * over the same rows), so it is recomputed on load. (XGBoost stores every node's float32 cover,
 * which can differ from the sum in the 7th digit; imported SHAP values move by about that much.)
 *
 * ## In memory
 * `GbdtScorer` keeps the trees twice: in pointer form for TreeSHAP, and, for scoring, padded to
 * complete binary trees of the ensemble's depth (heap order: children of slot i at 2i+1, 2i+2;
 * a short branch continues as pass-through splits), so descending needs no child pointers and no
 * leaf test. Ensembles deeper than 10 score in pointer form.
 */
import { base64ToBytes, bytesToBase64 } from "../base64";
import type { GbdtParams } from "./artifact";

/** One tree in memory, nodes indexed from 0 (the root); any node order, children by index. */
export interface GbdtTree {
  /** Encoded column each split tests; -1 marks a leaf. */
  feature: Int32Array;
  /** Split threshold (float32) for splits; leaf value for leaves. */
  value: Float32Array;
  /** Child indices of splits (ignored for leaves). */
  left: Int32Array;
  right: Int32Array;
  /** 1 where missing inputs go left. */
  defaultLeft: Uint8Array;
  /** Hessian sum of the training rows reaching each node; only leaves' are serialized. */
  cover: Float64Array;
}

/** A tree ensemble in memory: what the trainer builds and the XGBoost importer reads. */
export interface GbdtModel {
  baseMargin: number;
  trees: GbdtTree[];
}

const LEAF = -1;
const DEFAULT_LEFT_BIT = 0x8000;
const MAX_FEATURE = 0x7ffe;

// DataView with explicit little-endian reads and writes: the format stays the same on any host.
function u16ToBase64(a: ArrayLike<number>): string {
  const v = new DataView(new ArrayBuffer(a.length * 2));
  for (let i = 0; i < a.length; i++) v.setUint16(i * 2, a[i], true);
  return bytesToBase64(new Uint8Array(v.buffer));
}
function u32ToBase64(a: ArrayLike<number>): string {
  const v = new DataView(new ArrayBuffer(a.length * 4));
  for (let i = 0; i < a.length; i++) v.setUint32(i * 4, a[i], true);
  return bytesToBase64(new Uint8Array(v.buffer));
}
function f32ToBase64(a: ArrayLike<number>): string {
  const v = new DataView(new ArrayBuffer(a.length * 4));
  for (let i = 0; i < a.length; i++) v.setFloat32(i * 4, a[i], true);
  return bytesToBase64(new Uint8Array(v.buffer));
}
function view(name: string, text: string | undefined, width: number): DataView {
  if (typeof text !== "string") throw new Error(`tree ensemble has no '${name}' array`);
  const bytes = base64ToBytes(text);
  if (bytes.length % width !== 0) throw new Error(`tree ensemble array '${name}' has ${bytes.length} bytes, not a multiple of ${width}`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
function base64ToU16(name: string, text: string | undefined): Uint16Array {
  const v = view(name, text, 2);
  const out = new Uint16Array(v.byteLength / 2);
  for (let i = 0; i < out.length; i++) out[i] = v.getUint16(i * 2, true);
  return out;
}
function base64ToU32(name: string, text: string | undefined): Uint32Array {
  const v = view(name, text, 4);
  const out = new Uint32Array(v.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getUint32(i * 4, true);
  return out;
}
function base64ToF32(name: string, text: string | undefined): Float32Array {
  const v = view(name, text, 4);
  const out = new Float32Array(v.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = v.getFloat32(i * 4, true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// encode / decode

/** Depth of a tree (a lone leaf has depth 0). */
export function treeDepth(tree: GbdtTree, node = 0): number {
  if (tree.feature[node] < 0) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]), treeDepth(tree, tree.right[node]));
}

/**
 * Serializes trees into the artifact's `GbdtParams` (layout at the top of this file). Nodes
 * not reachable from a tree's root (e.g. pruned ones) are dropped.
 *
 * @example
 *   const params = encodeGbdt({ baseMargin: -1.2, trees });
 *   artifact.model = params; // JSON-safe
 */
export function encodeGbdt(model: GbdtModel): GbdtParams {
  const sizes: number[] = [];
  const split: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  let maxDepth = 0;
  for (const tree of model.trees) {
    const order = [0];
    for (let k = 0; k < order.length; k++) {
      const n = order[k];
      const f = tree.feature[n];
      if (f < 0) {
        split.push(0);
        cover.push(tree.cover[n]);
      } else {
        if (!(f <= MAX_FEATURE)) throw new RangeError(`split feature ${f} is beyond the ${MAX_FEATURE + 1} columns this format holds`);
        split.push((f + 1) | (tree.defaultLeft[n] ? DEFAULT_LEFT_BIT : 0));
        order.push(tree.left[n], tree.right[n]);
        if (order.length > tree.feature.length) throw new Error("tree has a cycle or shared children");
      }
      value.push(tree.value[n]);
    }
    sizes.push(order.length);
    maxDepth = Math.max(maxDepth, treeDepth(tree));
  }
  return {
    family: "gbdt",
    baseMargin: model.baseMargin,
    trees: model.trees.length,
    maxDepth,
    nodes: { size: u32ToBase64(sizes), split: u16ToBase64(split), value: f32ToBase64(value), cover: f32ToBase64(cover) },
  };
}

/**
 * Reads `GbdtParams` back into trees (breadth-first node order, covers of splits recomputed
 * as the sums of their leaves'). Throws a readable Error on malformed arrays.
 *
 * @example
 *   const { baseMargin, trees } = decodeGbdt(artifact.model as GbdtParams);
 */
export function decodeGbdt(params: GbdtParams): GbdtModel {
  const sizes = base64ToU32("size", params.nodes?.size);
  const split = base64ToU16("split", params.nodes?.split);
  const value = base64ToF32("value", params.nodes?.value);
  const leafCover = base64ToF32("cover", params.nodes?.cover);
  if (sizes.length !== params.trees) throw new Error(`tree ensemble says ${params.trees} trees but sizes ${sizes.length}`);
  if (split.length !== value.length) throw new Error("tree ensemble arrays 'split' and 'value' differ in length");
  const trees: GbdtTree[] = [];
  let start = 0;
  let leafAt = 0;
  for (let t = 0; t < sizes.length; t++) {
    const n = sizes[t];
    if (n < 1 || start + n > split.length) throw new Error(`tree ${t} runs past the node arrays`);
    const tree: GbdtTree = {
      feature: new Int32Array(n),
      value: value.slice(start, start + n),
      left: new Int32Array(n),
      right: new Int32Array(n),
      defaultLeft: new Uint8Array(n),
      cover: new Float64Array(n),
    };
    let splits = 0;
    for (let i = 0; i < n; i++) {
      const s = split[start + i];
      if (s === 0) {
        tree.feature[i] = LEAF;
        if (leafAt >= leafCover.length) throw new Error("tree ensemble has fewer leaf covers than leaves");
        tree.cover[i] = leafCover[leafAt++];
      } else {
        if ((s & ~DEFAULT_LEFT_BIT) === 0) throw new Error(`tree ${t} node ${i} has no split feature`);
        tree.feature[i] = (s & ~DEFAULT_LEFT_BIT) - 1;
        tree.defaultLeft[i] = s & DEFAULT_LEFT_BIT ? 1 : 0;
        const l = 2 * splits + 1;
        if (l + 1 >= n) throw new Error(`tree ${t} has a split whose children are missing`);
        tree.left[i] = l;
        tree.right[i] = l + 1;
        splits++;
      }
    }
    if (2 * splits + 1 !== n) throw new Error(`tree ${t} has ${n} nodes for ${splits} splits`);
    // Children always follow their parent in breadth-first order, so one backward pass sums covers.
    for (let i = n - 1; i >= 0; i--) if (tree.feature[i] >= 0) tree.cover[i] = tree.cover[tree.left[i]] + tree.cover[tree.right[i]];
    trees.push(tree);
    start += n;
  }
  if (start !== split.length) throw new Error("tree ensemble node arrays are longer than its trees");
  if (leafAt !== leafCover.length) throw new Error("tree ensemble has more leaf covers than leaves");
  return { baseMargin: params.baseMargin, trees };
}

/**
 * Size of the serialized trees: total characters (= bytes) of base64 in `nodes`.
 *
 * @example
 *   if (gbdtSizeBytes(params) > 500_000) console.warn("model is large for the edge");
 */
export function gbdtSizeBytes(params: GbdtParams): number {
  let bytes = 0;
  for (const text of Object.values(params.nodes)) bytes += text.length;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// scoring

// Trees this shallow are laid out as complete binary trees (heap order), padding short branches,
// so that descending is a fixed number of steps with no child pointers and no leaf test. Deeper
// ones (imported models) keep pointer form so padding cannot blow up memory.
const MAX_HEAP_DEPTH = 10;
/** Rows per block in `marginBatch`. */
const BATCH_BLOCK = 64;

/**
 * Scores rows with a tree ensemble and explains them with exact TreeSHAP.
 *
 * Rows are the encoded vectors of `encodeRow(spec, row, x, offset, true)`: missing inputs are NaN.
 *
 * @example
 *   const scorer = new GbdtScorer(artifact.model as GbdtParams);
 *   const z = scorer.margin(x);                       // log-odds
 *   const shap = new Float64Array(spec.length);
 *   scorer.contributions(x, encodedOwners(spec), shap); // scorer.baseValue + Σ shap === z
 */
export class GbdtScorer {
  /** Expected margin over the training rows (covers as weights): TreeSHAP's base value. */
  readonly baseValue: number;
  readonly baseMargin: number;
  readonly trees: number;
  readonly maxDepth: number;
  /** Encoded columns the trees read: rows must be at least this wide. */
  readonly width: number;

  // Pointer form of all trees concatenated (TreeSHAP always, scoring when too deep for heaps).
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly value: Float32Array;
  private readonly left: Int32Array;
  private readonly defaultLeft: Uint8Array;
  private readonly cover: Float64Array;

  // Heap form: per tree 2^D − 1 splits then 2^D leaves; node i's children are 2i+1 and 2i+2.
  private readonly heapDepth: number;
  private readonly heapFeature: Int32Array | null = null;
  private readonly heapThreshold: Float32Array | null = null;
  private readonly heapGoRightIfMissing: Uint8Array | null = null;
  private readonly heapLeaf: Float64Array | null = null;

  private readonly xf: Float32Array;
  private block: Float32Array | null = null;
  private readonly ratios: Ratios;
  private readonly hotScratch: Int32Array;
  private readonly path: { feature: Int32Array; zero: Float64Array; one: Float64Array; weight: Float64Array };

  constructor(params: GbdtParams) {
    const model = decodeGbdt(params);
    this.baseMargin = model.baseMargin;
    this.trees = model.trees.length;
    let total = 0;
    for (const t of model.trees) total += t.feature.length;
    this.roots = new Int32Array(this.trees);
    this.feature = new Int32Array(total);
    this.value = new Float32Array(total);
    this.left = new Int32Array(total);
    this.defaultLeft = new Uint8Array(total);
    this.cover = new Float64Array(total);
    let at = 0;
    let width = 0;
    let maxDepth = 0;
    let base = model.baseMargin;
    model.trees.forEach((t, k) => {
      this.roots[k] = at;
      for (let i = 0; i < t.feature.length; i++) {
        this.feature[at + i] = t.feature[i];
        this.value[at + i] = t.value[i];
        this.left[at + i] = t.feature[i] >= 0 ? at + t.left[i] : -1;
        this.defaultLeft[at + i] = t.defaultLeft[i];
        this.cover[at + i] = t.cover[i];
        if (t.feature[i] + 1 > width) width = t.feature[i] + 1;
      }
      // Decoded trees are breadth-first with adjacent children: right = left + 1 everywhere.
      base += this.meanValue(at);
      maxDepth = Math.max(maxDepth, treeDepth(t));
      at += t.feature.length;
    });
    this.baseValue = base;
    this.width = width;
    this.maxDepth = maxDepth;
    this.xf = new Float32Array(Math.max(1, width));
    const pathSize = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.path = { feature: new Int32Array(pathSize), zero: new Float64Array(pathSize), one: new Float64Array(pathSize), weight: new Float64Array(pathSize) };
    this.ratios = ratioTables(maxDepth + 2);
    this.hotScratch = new Int32Array(maxDepth + 2);

    // Padding every tree to the deepest one must not cost more than ~32 MB (17 bytes a slot).
    this.heapDepth = maxDepth <= MAX_HEAP_DEPTH && this.trees * 2 ** (maxDepth + 1) * 17 <= 32 << 20 ? maxDepth : -1;
    if (this.heapDepth >= 0) {
      const splits = (1 << this.heapDepth) - 1;
      const leaves = 1 << this.heapDepth;
      this.heapFeature = new Int32Array(this.trees * splits);
      this.heapThreshold = new Float32Array(this.trees * splits);
      this.heapGoRightIfMissing = new Uint8Array(this.trees * splits);
      this.heapLeaf = new Float64Array(this.trees * leaves);
      for (let k = 0; k < this.trees; k++) this.fillHeap(this.roots[k], 0, k * splits, k * leaves, 0);
    }
  }

  /** Cover-weighted mean leaf value under `node`: the tree's expected value when it is a root. */
  private meanValue(node: number): number {
    if (this.feature[node] < 0) return this.value[node];
    const l = this.left[node];
    const c = this.cover[node];
    // A zero-cover subtree (possible only in imported trees) has no expectation; weigh halves evenly.
    if (!(c > 0)) return 0.5 * (this.meanValue(l) + this.meanValue(l + 1));
    return (this.cover[l] * this.meanValue(l) + this.cover[l + 1] * this.meanValue(l + 1)) / c;
  }

  /** Copies the subtree at pointer node `node` into heap slot `slot` of the tree at `splitBase`. */
  private fillHeap(node: number, slot: number, splitBase: number, leafBase: number, depth: number): void {
    const D = this.heapDepth;
    if (depth === D) {
      (this.heapLeaf as Float64Array)[leafBase + slot - ((1 << D) - 1)] = this.value[node];
      return;
    }
    const hf = this.heapFeature as Int32Array;
    const ht = this.heapThreshold as Float32Array;
    const hm = this.heapGoRightIfMissing as Uint8Array;
    if (this.feature[node] < 0) {
      // A leaf above the bottom: a pass-through split whose whole subtree holds the leaf's value,
      // so whichever way a row goes (even +Infinity or NaN) it lands on the same number.
      hf[splitBase + slot] = 0;
      ht[splitBase + slot] = Infinity;
      hm[splitBase + slot] = 0;
      this.fillHeap(node, 2 * slot + 1, splitBase, leafBase, depth + 1);
      this.fillHeap(node, 2 * slot + 2, splitBase, leafBase, depth + 1);
      return;
    }
    hf[splitBase + slot] = this.feature[node];
    ht[splitBase + slot] = this.value[node];
    hm[splitBase + slot] = this.defaultLeft[node] ? 0 : 1;
    this.fillHeap(this.left[node], 2 * slot + 1, splitBase, leafBase, depth + 1);
    this.fillHeap(this.left[node] + 1, 2 * slot + 2, splitBase, leafBase, depth + 1);
  }

  /** Rounds a row to float32 (XGBoost compares in float32) into `xf` at `at`; true if any input is NaN. */
  private loadRow(x: ArrayLike<number>, offset: number, xf: Float32Array, at: number): boolean {
    const w = this.width;
    let missing = false;
    for (let j = 0; j < w; j++) {
      const v = x[offset + j];
      xf[at + j] = v;
      if (v !== v) missing = true;
    }
    return missing;
  }

  /**
   * Log-odds of the row starting at `offset` in `x`.
   *
   * @example
   *   const p = sigmoid(scorer.margin(x));
   */
  margin(x: Float64Array, offset = 0): number {
    const missing = this.loadRow(x, offset, this.xf, 0);
    if (this.heapDepth < 0) return this.pointerMargin(this.xf, 0);
    return missing ? this.heapMarginMissing(this.xf, 0) : this.heapMargin(this.xf, 0);
  }

  // Descending heap trees is written without branches (`+(v >= t)` compiles to a flag, a ternary
  // to a jump), four trees in lock-step: a tree's path is a chain of dependent loads, so a
  // mispredicted jump or a single chain leaves the CPU idle. Measured on Telco depth 6:
  // 18.8 µs/row with ternaries one tree at a time, 4.6 µs like this. Leaves are added in tree
  // order so every path gives bit-identical sums.
  private heapMargin(xf: Float32Array, at: number): number {
    const hf = this.heapFeature as Int32Array;
    const ht = this.heapThreshold as Float32Array;
    const leaf = this.heapLeaf as Float64Array;
    const D = this.heapDepth;
    const splits = (1 << D) - 1;
    const leaves = 1 << D;
    const T = this.trees;
    let sum = this.baseMargin;
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const s0 = t * splits;
      const s1 = s0 + splits;
      const s2 = s1 + splits;
      const s3 = s2 + splits;
      let n0 = 0;
      let n1 = 0;
      let n2 = 0;
      let n3 = 0;
      for (let d = 0; d < D; d++) {
        n0 = 2 * n0 + 1 + +(xf[at + hf[s0 + n0]] >= ht[s0 + n0]);
        n1 = 2 * n1 + 1 + +(xf[at + hf[s1 + n1]] >= ht[s1 + n1]);
        n2 = 2 * n2 + 1 + +(xf[at + hf[s2 + n2]] >= ht[s2 + n2]);
        n3 = 2 * n3 + 1 + +(xf[at + hf[s3 + n3]] >= ht[s3 + n3]);
      }
      const l0 = t * leaves - splits;
      sum += leaf[l0 + n0];
      sum += leaf[l0 + leaves + n1];
      sum += leaf[l0 + 2 * leaves + n2];
      sum += leaf[l0 + 3 * leaves + n3];
    }
    for (; t < T; t++) {
      const s0 = t * splits;
      let n0 = 0;
      for (let d = 0; d < D; d++) n0 = 2 * n0 + 1 + +(xf[at + hf[s0 + n0]] >= ht[s0 + n0]);
      sum += leaf[t * leaves - splits + n0];
    }
    return sum;
  }

  /** `heapMargin` for rows with NaN: a NaN fails `>=`, so it goes right only where the node says. */
  private heapMarginMissing(xf: Float32Array, at: number): number {
    const hf = this.heapFeature as Int32Array;
    const ht = this.heapThreshold as Float32Array;
    const hm = this.heapGoRightIfMissing as Uint8Array;
    const leaf = this.heapLeaf as Float64Array;
    const D = this.heapDepth;
    const splits = (1 << D) - 1;
    const leaves = 1 << D;
    const T = this.trees;
    let sum = this.baseMargin;
    let t = 0;
    for (; t + 4 <= T; t += 4) {
      const s0 = t * splits;
      const s1 = s0 + splits;
      const s2 = s1 + splits;
      const s3 = s2 + splits;
      let n0 = 0;
      let n1 = 0;
      let n2 = 0;
      let n3 = 0;
      for (let d = 0; d < D; d++) {
        const v0 = xf[at + hf[s0 + n0]];
        const v1 = xf[at + hf[s1 + n1]];
        const v2 = xf[at + hf[s2 + n2]];
        const v3 = xf[at + hf[s3 + n3]];
        n0 = 2 * n0 + 1 + (+(v0 >= ht[s0 + n0]) | (+(v0 !== v0) & hm[s0 + n0]));
        n1 = 2 * n1 + 1 + (+(v1 >= ht[s1 + n1]) | (+(v1 !== v1) & hm[s1 + n1]));
        n2 = 2 * n2 + 1 + (+(v2 >= ht[s2 + n2]) | (+(v2 !== v2) & hm[s2 + n2]));
        n3 = 2 * n3 + 1 + (+(v3 >= ht[s3 + n3]) | (+(v3 !== v3) & hm[s3 + n3]));
      }
      const l0 = t * leaves - splits;
      sum += leaf[l0 + n0];
      sum += leaf[l0 + leaves + n1];
      sum += leaf[l0 + 2 * leaves + n2];
      sum += leaf[l0 + 3 * leaves + n3];
    }
    for (; t < T; t++) {
      const s0 = t * splits;
      let n0 = 0;
      for (let d = 0; d < D; d++) {
        const v0 = xf[at + hf[s0 + n0]];
        n0 = 2 * n0 + 1 + (+(v0 >= ht[s0 + n0]) | (+(v0 !== v0) & hm[s0 + n0]));
      }
      sum += leaf[t * leaves - splits + n0];
    }
    return sum;
  }

  private pointerMargin(xf: Float32Array, at: number): number {
    const feature = this.feature;
    const value = this.value;
    const left = this.left;
    const dl = this.defaultLeft;
    let sum = this.baseMargin;
    for (let t = 0; t < this.trees; t++) {
      let n = this.roots[t];
      let f = feature[n];
      while (f >= 0) {
        const v = xf[at + f];
        n = left[n] + (v < value[n] ? 0 : v >= value[n] ? 1 : 1 - dl[n]);
        f = feature[n];
      }
      sum += value[n];
    }
    return sum;
  }

  /**
   * Log-odds of `rows` consecutive rows of `stride` values each (row-major, from `offset`),
   * into `out[0..rows)`: the same numbers as `margin`, bit for bit, faster per row. Rows go in
   * blocks of 64 through one tree at a time, so each tree's nodes stay in the L1 cache.
   *
   * @example
   *   const z = new Float64Array(n);
   *   scorer.marginBatch(matrix, n, cols, z);
   */
  marginBatch(x: Float64Array, rows: number, stride: number, out: Float64Array, offset = 0): void {
    if (this.heapDepth < 0) {
      for (let r = 0; r < rows; r++) out[r] = this.margin(x, offset + r * stride);
      return;
    }
    const B = BATCH_BLOCK;
    const w = this.width;
    this.block ??= new Float32Array(B * Math.max(1, w));
    const xb = this.block;
    const missing = new Uint8Array(B);
    const acc = new Float64Array(B);
    const hf = this.heapFeature as Int32Array;
    const ht = this.heapThreshold as Float32Array;
    const leaf = this.heapLeaf as Float64Array;
    const D = this.heapDepth;
    const splits = (1 << D) - 1;
    const leaves = 1 << D;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const nb = Math.min(B, rows - r0);
      let anyMissing = false;
      for (let i = 0; i < nb; i++) {
        const m = this.loadRow(x, offset + (r0 + i) * stride, xb, i * w);
        missing[i] = m ? 1 : 0;
        if (m) anyMissing = true;
        acc[i] = this.baseMargin;
      }
      for (let t = 0; t < this.trees; t++) {
        const s0 = t * splits;
        const l0 = t * leaves - splits;
        let i = 0;
        for (; i + 4 <= nb; i += 4) {
          const a0 = i * w;
          const a1 = a0 + w;
          const a2 = a1 + w;
          const a3 = a2 + w;
          let n0 = 0;
          let n1 = 0;
          let n2 = 0;
          let n3 = 0;
          for (let d = 0; d < D; d++) {
            n0 = 2 * n0 + 1 + +(xb[a0 + hf[s0 + n0]] >= ht[s0 + n0]);
            n1 = 2 * n1 + 1 + +(xb[a1 + hf[s0 + n1]] >= ht[s0 + n1]);
            n2 = 2 * n2 + 1 + +(xb[a2 + hf[s0 + n2]] >= ht[s0 + n2]);
            n3 = 2 * n3 + 1 + +(xb[a3 + hf[s0 + n3]] >= ht[s0 + n3]);
          }
          acc[i] += leaf[l0 + n0];
          acc[i + 1] += leaf[l0 + n1];
          acc[i + 2] += leaf[l0 + n2];
          acc[i + 3] += leaf[l0 + n3];
        }
        for (; i < nb; i++) {
          const at = i * w;
          let n = 0;
          for (let d = 0; d < D; d++) n = 2 * n + 1 + +(xb[at + hf[s0 + n]] >= ht[s0 + n]);
          acc[i] += leaf[l0 + n];
        }
      }
      // Rows with NaN took wrong turns above; score them again on the missing-aware path.
      if (anyMissing) for (let i = 0; i < nb; i++) if (missing[i]) acc[i] = this.heapMarginMissing(xb, i * w);
      for (let i = 0; i < nb; i++) out[r0 + i] = acc[i];
    }
  }

  /**
   * Exact path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2, as XGBoost's
   * `pred_contribs`): adds the SHAP value of each encoded column j into `out[owners[j]]`, so
   * `baseValue + Σ out === margin(x)` up to rounding. `out` is not cleared first.
   *
   * @example
   *   const shap = new Float64Array(width).fill(0);
   *   scorer.contributions(x, Int32Array.from({ length: width }, (_, j) => j), shap);
   */
  contributions(x: Float64Array, owners: Int32Array, out: Float64Array, offset = 0): void {
    this.loadRow(x, offset, this.xf, 0);
    for (let t = 0; t < this.trees; t++) this.treeShap(this.roots[t], 0, 0, 0, 1, 1, -1, owners, out);
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
