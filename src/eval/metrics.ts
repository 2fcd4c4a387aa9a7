/**
 * Pure evaluation kernels: Recall@N of ranked retrieval results and latency percentiles.
 * @module
 */
import { quantile } from "../kernels/stats.ts";

/** p50 / p90 / p99 (and mean, max) of a latency sample, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  count: number;
}

/** The q-quantile (0..1) by linear interpolation: the project's one definition, `src/kernels/stats.ts`. */
export { quantile } from "../kernels/stats.ts";

/** Summarise a latency sample (ms); all fields 0 for an empty sample. */
export function summarizeLatency(values: ArrayLike<number>): LatencySummary {
  const n = values.length;
  if (n === 0) return { p50: 0, p90: 0, p99: 0, mean: 0, max: 0, count: 0 };
  let sum = 0, max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (values[i] > max) max = values[i];
  }
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    p50: r(quantile(values, 0.5)),
    p90: r(quantile(values, 0.9)),
    p99: r(quantile(values, 0.99)),
    mean: r(sum / n),
    max: r(max),
    count: n,
  };
}

/** Recall@N over the queries that have at least one true match. */
export interface RecallResult {
  /** N -> fraction of evaluated queries with a true match among their first N results. */
  recall: Record<number, number>;
  /** Queries that have a true match (the denominator). */
  evaluated: number;
  /** Queries with no true match (not in recall). */
  withoutMatch: number;
}

/**
 * Recall@N: for each query with a non-empty truth set, whether any of its first N ranked ids is true.
 *
 * @example
 * ```ts
 * import { recallAtN } from "./metrics.ts";
 * const r = recallAtN([[3, 1], [0, 2], [5]], [[1], [7], []], [1, 2]);
 * console.assert(r.recall[1] === 0 && r.recall[2] === 0.5 && r.evaluated === 2 && r.withoutMatch === 1);
 * ```
 */
export function recallAtN(
  ranked: readonly (readonly number[])[],
  truth: readonly (readonly number[])[],
  ns: readonly number[],
): RecallResult {
  if (ranked.length !== truth.length) {
    throw new RangeError(`recallAtN: ${ranked.length} ranked lists for ${truth.length} truth sets`);
  }
  const hits = ns.map(() => 0);
  let evaluated = 0;
  for (let q = 0; q < ranked.length; q++) {
    if (truth[q].length === 0) continue;
    evaluated++;
    const t = new Set(truth[q]);
    const first = ranked[q].findIndex((id) => t.has(id));
    ns.forEach((n, k) => {
      if (first >= 0 && first < n) hits[k]++;
    });
  }
  const recall: Record<number, number> = {};
  ns.forEach((n, k) => (recall[n] = evaluated > 0 ? hits[k] / evaluated : 0));
  return { recall, evaluated, withoutMatch: ranked.length - evaluated };
}
