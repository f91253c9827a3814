/**
 * The wire format of gradient-boosted tree ensembles: how `GbdtParams` in model.json holds the
 * trees, with the in-memory tree types the trainer and the XGBoost importer build, and the
 * encoder and decoder between them. Plain TypeScript over typed arrays (runs in Workers).
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
 */
import { base64ToBytes, bytesToBase64 } from "../../base64";
import type { GbdtParams } from "../artifact";

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

/**
 * Depth of a tree (a lone leaf has depth 0).
 *
 * @example
 *   treeDepth(model.trees[0]); // 6 for a full depth-6 tree
 */
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
