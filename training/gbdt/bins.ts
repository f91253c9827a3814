/**
 * Cutting features into histogram bins, once per training run: float32 quantile cuts per
 * column plus a missing bin, stored column-major for routing rows at a split and as sparse
 * per-row lists (without each feature's most frequent bin) for building histograms.
 */

/** Features cut into bins, in the two layouts the trainer needs. */
export interface Binned {
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
 *
 * @example
 *   const binned = binFeatures(x, rows, cols, 256);
 *   binned.byColumn[f * rows + r]; // the global bin of row r's feature f
 */
export function binFeatures(x: Float64Array, rows: number, cols: number, maxBins: number): Binned {
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
