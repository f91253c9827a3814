/**
 * Feature encoding shared by training and the Worker: turns a user's raw signals (named in
 * their own column names) into the model's numeric vector, and checks API input against the
 * feature spec stored in the model artifact. Pure TypeScript, no I/O.
 */

/** A numeric column, standardised with the training mean and standard deviation. */
export interface NumericFeature {
  name: string;
  kind: "numeric";
  mean: number;
  std: number;
  /** Raw value used when the signal is missing (the training median). */
  fill: number;
  /** When present, a second input log1p(max(x, 0)), standardised: lets a linear model bend. */
  log?: { mean: number; std: number };
}

/** A two-valued column such as Yes/No, true/false or 0/1, encoded as 0 or 1. */
export interface BooleanFeature {
  name: string;
  kind: "boolean";
  /** Raw spellings read as 1 and as 0, compared case-insensitively. */
  trueValues: string[];
  falseValues: string[];
  /** Encoded value (0 or 1) used when the signal is missing: the training mode. */
  fill: number;
}

/**
 * A categorical column, one-hot encoded. An unseen (or rare, dropped) level encodes as all zeros;
 * a missing value encodes as `fill`, each level's share in training, so it moves no score.
 */
export interface CategoricalFeature {
  name: string;
  kind: "categorical";
  levels: string[];
  fill?: number[];
}

export type FeatureSpec = NumericFeature | BooleanFeature | CategoricalFeature;

/** A raw signal value: what a CSV cell or a JSON field may hold. */
export type RawValue = number | string | boolean | null | undefined;

// "None" and "-" are left out on purpose: they are real categories in many CRMs ("Plan: None").
const MISSING_STRINGS = new Set(["", "na", "n/a", "nan", "null", "?"]);

/** True for a value that means "no data" (blank CSV cells, null, "NA", ...). */
export function isMissing(value: RawValue): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "number") return Number.isNaN(value);
  if (typeof value === "string") return MISSING_STRINGS.has(value.trim().toLowerCase());
  return false;
}

/** The number of model inputs a feature occupies. */
export function width(f: FeatureSpec): number {
  if (f.kind === "categorical") return f.levels.length;
  return f.kind === "numeric" && f.log ? 2 : 1;
}

/** Names of the encoded columns, e.g. `tenure`, `Contract=Month-to-month`. */
export function encodedNames(spec: FeatureSpec[]): string[] {
  const names: string[] = [];
  for (const f of spec) {
    if (f.kind === "categorical") for (const level of f.levels) names.push(`${f.name}=${level}`);
    else names.push(f.name);
    if (f.kind === "numeric" && f.log) names.push(`log1p(${f.name})`);
  }
  return names;
}

/** For each encoded column, the index of the user column it came from. */
export function encodedOwners(spec: FeatureSpec[]): Int32Array {
  const owners: number[] = [];
  spec.forEach((f, i) => {
    for (let k = 0; k < width(f); k++) owners.push(i);
  });
  return Int32Array.from(owners);
}

/**
 * Parses a raw value as a number: numbers pass, numeric strings (CSV cells, with an optional
 * leading `$` and thousands commas) parse, else NaN. Type inference uses this same rule so a
 * column inferred numeric is always readable by `encodeRow`.
 */
export function toNumber(value: RawValue): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    const t = value.trim().replace(/^\$/, "").replace(/,/g, "");
    return t === "" ? NaN : Number(t);
  }
  return NaN;
}

/** A Yes/No-like value as 1 or 0 in the feature's own spellings (JSON 0/1 and booleans too); NaN if unreadable. */
export function toBoolean(f: BooleanFeature, value: RawValue): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  const s = String(value).trim().toLowerCase();
  if (f.trueValues.some((v) => v.toLowerCase() === s)) return 1;
  if (f.falseValues.some((v) => v.toLowerCase() === s)) return 0;
  // checkFeatures accepts JSON 0/1 for any boolean feature, so a Yes/No column must read them too
  // rather than silently imputing.
  if (value === 0 || value === 1) return value;
  return NaN;
}

/**
 * Encodes one row of raw signals into `out` (length = sum of widths), leniently: this is the
 * path for CSV cells, where every value is a string. Returns the names of the features that
 * were missing or could not be read and were imputed.
 *
 * With `missingAsNaN` (tree models, which learn where missing values go), a missing signal
 * encodes as NaN in all of its inputs instead of being filled; it is still reported as imputed.
 *
 * @example
 *   const x = new Float64Array(encodedNames(spec).length);
 *   const imputed = encodeRow(spec, { tenure: "2", Contract: "Month-to-month" }, x);
 */
export function encodeRow(spec: FeatureSpec[], row: Record<string, RawValue>, out: Float64Array, offset = 0, missingAsNaN = false): string[] {
  const imputed: string[] = [];
  let j = offset;
  for (const f of spec) {
    const value = row[f.name];
    const missing = isMissing(value);
    if (f.kind === "numeric") {
      let v = missing ? NaN : toNumber(value);
      if (!Number.isFinite(v)) {
        imputed.push(f.name);
        v = missingAsNaN ? NaN : f.fill;
      }
      out[j++] = (v - f.mean) / f.std;
      if (f.log) out[j++] = (Math.log1p(Math.max(v, 0)) - f.log.mean) / f.log.std;
    } else if (f.kind === "boolean") {
      let v = missing ? NaN : toBoolean(f, value);
      if (Number.isNaN(v)) {
        imputed.push(f.name);
        v = missingAsNaN ? NaN : f.fill;
      }
      out[j++] = v;
    } else {
      // A known level wins over the missing-word check, so a level spelled "NA" stays a level.
      const level = value === null || value === undefined ? -1 : f.levels.indexOf(String(value).trim());
      const absent = level < 0 && missing;
      if (absent) imputed.push(f.name);
      for (let k = 0; k < f.levels.length; k++) out[j + k] = absent ? (missingAsNaN ? NaN : (f.fill?.[k] ?? 0)) : k === level ? 1 : 0;
      j += f.levels.length;
    }
  }
  return imputed;
}

/** A problem with one input field, as reported in problem+json `errors[]`. */
export interface FieldError {
  /** JSON pointer-like path of the field at fault, e.g. `features.tenure` or `rows[3].features.tenure`. */
  field: string;
  detail: string;
}

/**
 * Checks API input (parsed JSON) strictly against the feature spec: unknown names, wrong
 * types, strings where numbers belong and non-finite numbers are errors; null or absent
 * means missing and is imputed. Unseen categorical levels are allowed and reported.
 */
export function checkFeatures(spec: FeatureSpec[], features: Record<string, unknown>, path = "features"): FieldError[] {
  const errors: FieldError[] = [];
  const byName = new Map(spec.map((f) => [f.name, f]));
  for (const [name, value] of Object.entries(features)) {
    const field = `${path}.${name}`;
    const f = byName.get(name);
    if (!f) {
      errors.push({ field, detail: `unknown feature '${name}'; the model knows: ${spec.map((s) => s.name).join(", ")}` });
      continue;
    }
    if (value === null) continue;
    if (f.kind === "numeric") {
      if (typeof value !== "number") errors.push({ field, detail: `must be a number, got ${describe(value)}` });
      else if (!Number.isFinite(value)) errors.push({ field, detail: "must be a finite number" });
    } else if (f.kind === "boolean") {
      const ok =
        typeof value === "boolean" ||
        (typeof value === "number" && (value === 0 || value === 1)) ||
        (typeof value === "string" && !Number.isNaN(toBoolean(f, value)));
      if (!ok) errors.push({ field, detail: `must be true/false or one of ${[...f.trueValues, ...f.falseValues].join(", ")}, got ${describe(value)}` });
    } else if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      errors.push({ field, detail: `must be a string (one of ${f.levels.slice(0, 8).join(", ")}${f.levels.length > 8 ? ", ..." : ""}), got ${describe(value)}` });
    } else if (typeof value === "number" && !Number.isFinite(value)) {
      errors.push({ field, detail: "must be a finite number or a string" });
    }
  }
  return errors;
}

/** Categorical values in `features` that the model never saw in training. */
export function unseenLevels(spec: FeatureSpec[], features: Record<string, unknown>): string[] {
  const unseen: string[] = [];
  for (const f of spec) {
    const v = features[f.name];
    if (f.kind === "categorical" && v !== null && v !== undefined && !f.levels.includes(String(v).trim()) && !isMissing(v as RawValue)) unseen.push(f.name);
  }
  return unseen;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}
