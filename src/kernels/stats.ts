/**
 * The project's one percentile definition: the q-quantile by linear interpolation between order statistics
 * (NumPy's default, "type 7": position q * (n - 1) in the sorted sample). The live stats events, the
 * evaluation reports and the benchmarks all use it, so a p90 means the same statistic everywhere.
 *
 * @module
 */

/**
 * The q-quantile (q in 0..1, clamped) of an ascending `sorted` sample; NaN when it is empty.
 *
 * @example
 * ```ts
 * import { quantileSorted } from "./stats.ts";
 * console.assert(quantileSorted(new Float64Array([1, 2, 3, 4]), 0.5) === 2.5);
 * ```
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (n - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The q-quantile (q in 0..1, clamped) of `values` in any order (see {@link quantileSorted}); NaN when empty.
 *
 * @example
 * ```ts
 * import { quantile } from "./stats.ts";
 * console.assert(quantile([4, 1, 3, 2], 0.5) === 2.5);
 * ```
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  return quantileSorted(Float64Array.from(values).sort(), q);
}

/**
 * Mean and population standard deviation from a count and the sum and sum of squares of its values
 * (a negative variance from rounding is taken as 0).
 *
 * @example
 * ```ts
 * import { meanStd } from "./stats.ts";
 * const { mean, std } = meanStd(2, 4, 10); // values 1 and 3
 * console.assert(mean === 2 && std === 1);
 * ```
 */
export function meanStd(count: number, sum: number, sumSq: number): { mean: number; std: number } {
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / count - mean * mean)) };
}

/**
 * Mean and population standard deviation of `values` (one pass of sums, see {@link meanStd}).
 *
 * @example
 * ```ts
 * import { moments } from "./stats.ts";
 * console.assert(moments([1, 3]).std === 1);
 * ```
 */
export function moments(values: ArrayLike<number>): { mean: number; std: number } {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) {
    s += values[i];
    s2 += values[i] * values[i];
  }
  return meanStd(values.length, s, s2);
}
