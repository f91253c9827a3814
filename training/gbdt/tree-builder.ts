/**
 * A tree while the trainer grows it: growable node arrays (plus the bins each split routes
 * by), frozen into the typed-array tree the artifact stores, and the leaf a raw row reaches.
 */
import type { GbdtTree } from "../../shared/model/gbdt/format";

/**
 * A tree under construction, in growable arrays.
 *
 * @example
 *   const tree = new TreeBuilder();
 *   const root = tree.add(hessianSum); // node 0, a leaf until it is split
 *   trees.push(tree.toTree());
 */
export class TreeBuilder {
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

/**
 * Leaf a raw row reaches, by the edge scorer's float32 rule.
 *
 * @example
 *   validMargin[i] += tree.value[leafOf(tree, validation.x, i * cols)];
 */
export function leafOf(tree: TreeBuilder, x: Float64Array, offset: number): number {
  let n = 0;
  while (tree.feature[n] >= 0) {
    const v = x[offset + tree.feature[n]];
    n = v !== v ? (tree.defaultLeft[n] ? tree.left[n] : tree.right[n]) : Math.fround(v) < tree.value[n] ? tree.left[n] : tree.right[n];
  }
  return n;
}
