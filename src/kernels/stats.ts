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
