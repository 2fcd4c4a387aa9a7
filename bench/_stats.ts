/**
 * Small statistics and timing helpers for benchmarks.
 *
 * @module
 */
import { quantile, quantileSorted } from "../src/kernels/stats.ts";

/** Summary of a sample of measurements. */
export interface Summary {
  /** Number of values. */
  n: number;
  /** Smallest value. */
  min: number;
  /** Arithmetic mean. */
  mean: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Largest value. */
  max: number;
}

/**
 * The `p`-th percentile (0..100) of `values`: the project's one definition (`src/kernels/stats.ts`, linear
 * interpolation between order statistics; NaN when empty).
 *
 * @example
 * ```ts
 * import { percentile } from "./_stats.ts";
 * console.assert(percentile([1, 2, 3, 4], 50) === 2.5);
 * ```
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  return quantile(values, p / 100);
}

function percentileOfSorted(sorted: Float64Array, p: number): number {
  return quantileSorted(sorted, p / 100);
}

/** Count, min, mean, p50/p90/p99 and max of `values` (NaNs when empty). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    n,
    min: n ? sorted[0] : NaN,
    mean: n ? sum / n : NaN,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: n ? sorted[n - 1] : NaN,
  };
}

/** Milliseconds taken by `fn` (and its result). */
export function timeMs<T>(fn: () => T): { ms: number; result: T } {
  const t0 = performance.now();
  const result = fn();
  return { ms: performance.now() - t0, result };
}

/** Milliseconds taken by an async `fn` (and its result). */
export async function timeMsAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

/**
 * Time `fn(i)` for each i in [0, count) after `warmup` untimed calls (fn(i % count)); returns per-call ms.
 */
export function timeEach(count: number, fn: (i: number) => unknown, warmup = 0): Float64Array {
  for (let i = 0; i < warmup; i++) fn(i % Math.max(1, count));
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    fn(i);
    out[i] = performance.now() - t0;
  }
  return out;
}
