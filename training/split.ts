/**
 * Seeded, stratified hold-out split: the same seed and labels always give the same rows, so a
 * training run can be reproduced and its hold-out metrics re-checked.
 */

/**
 * mulberry32: a tiny 32-bit seeded PRNG, good enough for shuffling rows reproducibly.
 * Returns a function yielding floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `items` in place (Fisher-Yates) with the given random source. */
export function shuffleInPlace<T>(items: T[] | Int32Array, random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

export interface Split {
  /** Positions (into the labels array) of the rows to fit on, ascending. */
  train: number[];
  /** Positions of the held-out rows, ascending. */
  holdout: number[];
}

/**
 * Splits rows into train and hold-out, keeping the positive rate the same in both: each class
 * is shuffled with a seeded PRNG and `fraction` of it (rounded) is held out.
 *
 * @example
 *   const { train, holdout } = stratifiedSplit(labels, { fraction: 0.2, seed: 42 });
 */
export function stratifiedSplit(labels: ArrayLike<number>, options: { fraction?: number; seed?: number } = {}): Split {
  const fraction = options.fraction ?? 0.2;
  const seed = options.seed ?? 42;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`hold-out fraction must be between 0 and 1, got ${fraction}`);
  const random = mulberry32(seed);
  const train: number[] = [];
  const holdout: number[] = [];
  for (const cls of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) rows.push(i);
    shuffleInPlace(rows, random);
    const k = Math.round(rows.length * fraction);
    // A loop, not push(...spread): spreading a million-row class would overflow the call stack.
    for (let r = 0; r < rows.length; r++) (r < k ? holdout : train).push(rows[r]);
  }
  train.sort((a, b) => a - b);
  holdout.sort((a, b) => a - b);
  return { train, holdout };
}
