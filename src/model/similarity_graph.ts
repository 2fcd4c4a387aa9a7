/**
 * The ONNX graph of a whole-map similarity scan: `s[1, N] = q[1, D] x m[N, D]^T` (one `Gemm` with `transB`),
 * with the map matrix `m` a graph *input* of symbolic height `N`, not an initializer.
 *
 * Feeding the map at each run costs nothing: onnxruntime-node wraps the caller's `Float32Array` without
 * copying it. An initializer would hold a second copy of the map and make session creation slow (the whole map
 * would be written into and parsed from the protobuf), and is no faster per query (`bench/scan_bench.ts`).
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { GraphBuilder } from "./graph_builder.ts";

/** Names of the inputs and output of {@link similarityScanGraph}. */
export const SIMILARITY_SCAN_IO = { query: "q", map: "m", output: "s" } as const;

/**
 * ONNX bytes of the scan graph for `dim`-d descriptors: inputs `q` [1, dim] and `m` ["N", dim] (float32),
 * output `s` [1, "N"] with `s[r] = <q, m[r]>`.
 *
 * @example
 * ```ts
 * import { similarityScanGraph } from "./similarity_graph.ts";
 * import { createSession } from "./runtime.ts";
 * const s = await createSession(similarityScanGraph(2), { provider: "cpu" });
 * const out = await s.run({
 *   q: { data: new Float32Array([1, 2]), dims: [1, 2] },
 *   m: { data: new Float32Array([1, 0, 0, 1, 1, 1]), dims: [3, 2] },
 * });
 * console.assert(out.s.data.join() === "1,2,3");
 * await s.close();
 * ```
 */
export function similarityScanGraph(dim: number): Uint8Array {
  if (!Number.isInteger(dim) || dim < 1) {
    throw invalid("build a similarity scan graph", "dim", "a positive integer", dim);
  }
  const io = SIMILARITY_SCAN_IO;
  const g = new GraphBuilder("similarity_scan");
  const q = g.input(io.query, [1, dim]);
  const m = g.input(io.map, ["N", dim]);
  g.output(g.op("Gemm", [q, m], { transB: 1 }), io.output, [1, "N"]);
  return g.toBytes({ docString: "Inner products of one query with every row of a map matrix." });
}
