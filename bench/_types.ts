/**
 * The shape of one benchmark measurement, shared by every `bench/*_bench.ts` entry point.
 *
 * @module
 */

/** One benchmark measurement. */
export interface BenchResult {
  /** Stable, slash-separated name, e.g. `index/hnsw/query_p50/n=100000`. */
  name: string;
  /** The measured value. */
  value: number;
  /** Unit of `value`, e.g. `ms`, `s`, `ratio`, `images/s`. */
  unit: string;
  /** Anything needed to read the number (parameters, data, caveats). */
  note?: string;
}
