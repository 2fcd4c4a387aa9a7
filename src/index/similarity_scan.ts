/**
 * Whole-map similarity scans: the inner products of one query descriptor with every row of an N x D map
 * matrix, as the search stage's full scan needs them (the place filter's per-place normalisation wants the
 * whole row, not the top k).
 *
 * Two implementations behind one small interface:
 * - `js`: the plain loop over `dot` (4 accumulators), no dependencies;
 * - `onnxruntime`: one ONNX Runtime CPU `Gemm` per query (`src/model/similarity_graph.ts`) over the map
 *   matrix fed as an input (no copy of the map, session created in milliseconds). Measured on a shared 2-core
 *   AMD EPYC (AVX-512): 8192-d, 5,000 places 10-15 ms against 36-51 ms for the JS loop; 1,000 places 1.1-1.7
 *   ms against 8-11 ms; 256-d, 5,000 places 0.1-0.25 ms against 1.1 ms (`bench/scan_bench.ts`).
 *
 * `createSimilarityScanner` picks ONNX Runtime and falls back to the JS loop (with a log line) when it cannot
 * be loaded. ONNX Runtime is imported only when such a scanner is created, never on import of this module.
 *
 * @module
 */
import { IndexError, invalid } from "../errors.ts";
import { dot } from "./_kernels.ts";

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

/** Options of {@link createSimilarityScanner}. */
export interface SimilarityScannerOptions {
  /**
   * `"auto"` (default): ONNX Runtime on the CPU, else the JS loop with one line on `log`;
   * `"onnxruntime"`: ONNX Runtime or a `ModelLoadError`; `"js"`: the JS loop.
   */
  backend?: "auto" | "onnxruntime" | "js";
  /** ONNX Runtime threads inside the `Gemm`. Default: the runtime's default (CPU cores, at most 4). */
  threads?: number;
  /** Where the fallback line goes. Default `console.error`. */
  log?: (line: string) => void;
}

const ACTION = "create a similarity scanner";

function checkMatrix(rows: Float32Array, dim: number): number {
  if (!(rows instanceof Float32Array)) throw invalid(ACTION, "rows", "a Float32Array", rows);
  if (!Number.isInteger(dim) || dim < 1) throw invalid(ACTION, "dim", "a positive integer", dim);
  if (rows.length === 0 || rows.length % dim !== 0) {
    throw invalid(ACTION, "rows", `a non-empty N x ${dim} matrix (length a multiple of ${dim})`, rows.length);
  }
  return rows.length / dim;
}

function checkQuery(q: Float32Array, dim: number): void {
  if (!(q instanceof Float32Array) || q.length !== dim) {
    throw invalid("scan the map", "query", `a Float32Array of length ${dim}`, q?.length ?? q);
  }
}

function closedError(backend: string): IndexError {
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
    this.size = checkMatrix(rows, dim);
    this.dim = dim;
    this.#rows = rows;
  }

  scan(q: Float32Array): Promise<Float32Array> {
    try {
      if (!this.#rows) throw closedError(this.backend);
      checkQuery(q, this.dim);
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

/** The subset of `RuntimeSession` (src/model/runtime.ts) the ONNX Runtime scanner uses. */
interface ScanSession {
  run(
    feeds: Record<string, { data: Float32Array; dims: number[] }>,
  ): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  close(): Promise<void>;
}

type ScanIo = { query: string; map: string; output: string };

class OrtScanner implements SimilarityScanner {
  readonly backend = "onnxruntime" as const;
  readonly size: number;
  readonly dim: number;
  #rows: Float32Array | null;
  #session: ScanSession;
  #io: ScanIo;

  constructor(rows: Float32Array, dim: number, session: ScanSession, io: ScanIo) {
    this.size = rows.length / dim;
    this.dim = dim;
    this.#rows = rows;
    this.#session = session;
    this.#io = io;
  }

  async scan(q: Float32Array): Promise<Float32Array> {
    const rows = this.#rows;
    if (!rows) throw closedError(this.backend);
    checkQuery(q, this.dim);
    const out = await this.#session.run({
      [this.#io.query]: { data: q, dims: [1, this.dim] },
      [this.#io.map]: { data: rows, dims: [this.size, this.dim] },
    });
    const sims = out[this.#io.output]?.data;
    if (!(sims instanceof Float32Array) || sims.length !== this.size) {
      throw new IndexError(
        `Cannot scan the map: ONNX Runtime returned ${
          sims?.length ?? "no"
        } similarities for ${this.size} rows`,
      );
    }
    return sims;
  }

  async close(): Promise<void> {
    if (!this.#rows) return;
    this.#rows = null;
    await this.#session.close();
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

/**
 * A scanner over a map's descriptors `rows` (N x dim, row-major). The matrix is kept by reference, not
 * copied: it must outlive the scanner, and changes to its values show in later scans. Close the scanner when
 * the map goes away (the search stage does not close it).
 *
 * @example
 * ```ts
 * import { createSimilarityScanner } from "./similarity_scan.ts";
 * const rows = new Float32Array([1, 0, 0, 1, 0.6, 0.8]);
 * const scanner = await createSimilarityScanner(rows, 2);
 * const sims = await scanner.scan(new Float32Array([0.6, 0.8]));
 * console.assert(sims.length === 3 && Math.abs(sims[2] - 1) < 1e-6);
 * await scanner.close();
 * ```
 */
export async function createSimilarityScanner(
  rows: Float32Array,
  dim: number,
  options: SimilarityScannerOptions = {},
): Promise<SimilarityScanner> {
  checkMatrix(rows, dim);
  const backend = options.backend ?? "auto";
  if (!["auto", "onnxruntime", "js"].includes(backend)) {
    throw invalid(ACTION, "backend", "one of auto, onnxruntime, js", backend);
  }
  const threads = options.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw invalid(ACTION, "threads", "a positive integer", threads);
  }
  if (backend === "js") return new JsScanner(rows, dim);
  try {
    // Imported here so that loading this module never loads the native runtime.
    const [{ createSession }, { similarityScanGraph, SIMILARITY_SCAN_IO }] = await Promise.all([
      import("../model/runtime.ts"),
      import("../model/similarity_graph.ts"),
    ]);
    // CPU only: on a GPU the whole map would cross the bus at every query.
    const session = await createSession(similarityScanGraph(dim), {
      provider: "cpu",
      intraOpNumThreads: threads,
      label: `similarity scan (${dim}-d)`,
    });
    return new OrtScanner(rows, dim, session, { ...SIMILARITY_SCAN_IO });
  } catch (err) {
    if (backend === "onnxruntime") throw err;
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    (options.log ?? ((line: string) => console.error(line)))(
      `waymark: ONNX Runtime similarity scan unavailable (${reason}); using the JS loop`,
    );
    return new JsScanner(rows, dim);
  }
}
