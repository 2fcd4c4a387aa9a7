/**
 * Whole-map similarity scans: the inner products of one query descriptor with every row of an N x D map
 * matrix, as the search stage's full scan needs them (the place filter's per-place normalisation wants the
 * whole row, not the top k).
 *
 * This module holds the {@link SimilarityScanner} interface and its plain JS loop (`dot` with 4
 * accumulators, no dependencies). The ONNX Runtime implementation, one CPU `Gemm` per query, lives with the
 * runtime in `src/model/similarity_scanner.ts` (`createSimilarityScanner`) and is injected where a scanner is
 * wanted: the index area never loads ONNX Runtime. Their relative speed is `deno task bench --only scan`.
 *
 * @module
 */
import { IndexError, invalid } from "../errors.ts";
import { dot } from "../kernels/vector.ts";

/** Inner products of one query with every row of a map matrix. */
export interface SimilarityScanner {
  /** Which implementation runs the scan. */
  readonly backend: "js" | "onnxruntime";
  /** Rows (places) N: the length of every `scan` result. */
  readonly size: number;
  /** Descriptor dimension D. */
  readonly dim: number;
  /**
   * The N inner products `<q, row r>` in row order, in a fresh array the caller owns. Rejects with a
   * `ValidationError` when `q.length !== dim`, and with an error once the scanner is closed.
   */
  scan(q: Float32Array): Promise<Float32Array>;
  /** Release the scanner's resources (the map matrix stays the caller's). Idempotent. */
  close(): Promise<void>;
}

const ACTION = "create a similarity scanner";

/**
 * Check a scanner's map matrix (`rows`, N x dim row-major) and return N; `ValidationError` naming the field
 * otherwise. Shared by every {@link SimilarityScanner} implementation.
 */
export function checkScanMatrix(rows: Float32Array, dim: number): number {
  if (!(rows instanceof Float32Array)) throw invalid(ACTION, "rows", "a Float32Array", rows);
  if (!Number.isInteger(dim) || dim < 1) throw invalid(ACTION, "dim", "a positive integer", dim);
  if (rows.length === 0 || rows.length % dim !== 0) {
    throw invalid(ACTION, "rows", `a non-empty N x ${dim} matrix (length a multiple of ${dim})`, rows.length);
  }
  return rows.length / dim;
}

/** Check one query of a scanner of `dim`-d rows; `ValidationError` naming the field otherwise. */
export function checkScanQuery(q: Float32Array, dim: number): void {
  if (!(q instanceof Float32Array) || q.length !== dim) {
    throw invalid("scan the map", "query", `a Float32Array of length ${dim}`, q?.length ?? q);
  }
}

/** The error of `scan` on a closed scanner. */
export function scannerClosedError(backend: string): IndexError {
  return new IndexError(`Cannot scan the map: the ${backend} similarity scanner is closed`);
}

/**
 * The inner products of `q` with each of the N rows of `rows` (N x dim, row-major) into `out` (fresh when
 * omitted): the JS loop every scanner is checked against.
 *
 * @example
 * ```ts
 * import { scanRows } from "./similarity_scan.ts";
 * const sims = scanRows(new Float32Array([1, 2]), new Float32Array([1, 0, 0, 1, 1, 1]), 2);
 * console.assert(sims.join() === "1,2,3");
 * ```
 */
export function scanRows(q: Float32Array, rows: Float32Array, dim: number, out?: Float32Array): Float32Array {
  const n = Math.floor(rows.length / dim);
  const sims = out ?? new Float32Array(n);
  for (let r = 0; r < n; r++) sims[r] = dot(q, 0, rows, r * dim, dim);
  return sims;
}

class JsScanner implements SimilarityScanner {
  readonly backend = "js" as const;
  readonly size: number;
  readonly dim: number;
  #rows: Float32Array | null;

  constructor(rows: Float32Array, dim: number) {
    this.size = checkScanMatrix(rows, dim);
    this.dim = dim;
    this.#rows = rows;
  }

  scan(q: Float32Array): Promise<Float32Array> {
    try {
      if (!this.#rows) throw scannerClosedError(this.backend);
      checkScanQuery(q, this.dim);
      return Promise.resolve(scanRows(q, this.#rows, this.dim));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  close(): Promise<void> {
    this.#rows = null;
    return Promise.resolve();
  }
}

/**
 * The JS-loop scanner over `rows` (N x dim, row-major; kept by reference, not copied).
 *
 * @example
 * ```ts
 * import { jsSimilarityScanner } from "./similarity_scan.ts";
 * const s = jsSimilarityScanner(new Float32Array([1, 0, 0, 1]), 2);
 * console.assert((await s.scan(new Float32Array([3, 4]))).join() === "3,4");
 * ```
 */
export function jsSimilarityScanner(rows: Float32Array, dim: number): SimilarityScanner {
  return new JsScanner(rows, dim);
}
