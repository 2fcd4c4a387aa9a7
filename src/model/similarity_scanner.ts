/**
 * The ONNX Runtime {@link SimilarityScanner}: one CPU `Gemm` per query (`similarity_graph.ts`) over the map
 * matrix fed as an input (no copy of the map, session created in milliseconds), and
 * {@link createSimilarityScanner}, which picks it and falls back to the JS loop of
 * `src/index/similarity_scan.ts` (with a log line) when the runtime cannot be loaded.
 *
 * It lives in the model area, beside the only ONNX Runtime import, so that the index area stays free of the
 * runtime; callers that want a fast whole-map scan (the search stage's `fullScanScanner`) create one here and
 * hand it on. ONNX Runtime is imported only when such a scanner is created, never on import of this module.
 *
 * @module
 */
import { IndexError, invalid } from "../errors.ts";
import {
  checkScanMatrix,
  checkScanQuery,
  jsSimilarityScanner,
  scannerClosedError,
  type SimilarityScanner,
} from "../index/similarity_scan.ts";

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
    if (!rows) throw scannerClosedError(this.backend);
    checkScanQuery(q, this.dim);
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
 * A scanner over a map's descriptors `rows` (N x dim, row-major). The matrix is kept by reference, not
 * copied: it must outlive the scanner, and changes to its values show in later scans. Close the scanner when
 * the map goes away (the search stage does not close it).
 *
 * @example
 * ```ts
 * import { createSimilarityScanner } from "./similarity_scanner.ts";
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
  checkScanMatrix(rows, dim);
  const backend = options.backend ?? "auto";
  if (!["auto", "onnxruntime", "js"].includes(backend)) {
    throw invalid(ACTION, "backend", "one of auto, onnxruntime, js", backend);
  }
  const threads = options.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw invalid(ACTION, "threads", "a positive integer", threads);
  }
  if (backend === "js") return jsSimilarityScanner(rows, dim);
  try {
    // Imported here so that loading this module never loads the native runtime.
    const [{ createSession }, { similarityScanGraph, SIMILARITY_SCAN_IO }] = await Promise.all([
      import("./runtime.ts"),
      import("./similarity_graph.ts"),
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
    return jsSimilarityScanner(rows, dim);
  }
}
