/**
 * Argument checks shared by the vector indexes. Problems with data passed to an index operation are
 * `IndexError`s in the project's message form ("Cannot X as 'f' must be Y: current value is Z").
 *
 * @module
 */

import { describeValue, IndexError } from "../errors.ts";

/** Largest id an index accepts (ids are stored as unsigned 32-bit labels). */
export const MAX_ID = 0xffffffff;

/** An `IndexError` in the project's message form. */
export function indexError(action: string, field: string, must: string, value: unknown): IndexError {
  return new IndexError(
    `Cannot ${action} as '${field}' must be ${must}: current value is ${describeValue(value)}`,
    { context: { field } },
  );
}

/** Throw unless `id` is an integer in [0, MAX_ID]. */
export function checkId(action: string, id: unknown): number {
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw indexError(action, "id", `an integer in [0, ${MAX_ID}]`, id);
  }
  return id;
}

/** Throw unless `vector` is a Float32Array of length `dim` with finite values. */
export function checkVector(action: string, field: string, vector: unknown, dim: number): Float32Array {
  if (!(vector instanceof Float32Array)) {
    throw indexError(action, field, "a Float32Array", vector === null ? null : typeof vector);
  }
  if (vector.length !== dim) {
    throw indexError(action, `${field}.length`, `the index dimension ${dim}`, vector.length);
  }
  for (let i = 0; i < dim; i++) {
    const v = vector[i];
    // NaN fails both comparisons; +-Infinity fails the bounds.
    if (!(v >= -3.4e38 && v <= 3.4e38)) {
      throw indexError(action, `${field}[${i}]`, "a finite number", v);
    }
  }
  return vector;
}

/** Throw unless `k` is a non-negative integer. */
export function checkK(action: string, k: unknown): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 0) {
    throw indexError(action, "k", "a non-negative integer", k);
  }
  return k;
}
