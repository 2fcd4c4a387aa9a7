/**
 * Fast nearest-neighbour backend: the same contract as `nearestNeighbours()` in `match.ts`, computed by a
 * three-node ONNX graph (Gemm A·Bᵀ, then ArgMax/ReduceMax over rows and ArgMax over columns) on ONNX Runtime's
 * CPU GEMM, much faster than the JavaScript kernel for large descriptor sets (README, "Measured"). The graph is
 * generated in memory; nothing is downloaded.
 *
 * @module
 */
import { GraphBuilder } from "../model/graph_builder.ts";
import { DataType } from "../model/onnx_proto.ts";
import { createSession } from "../model/runtime.ts";
import { type NearestNeighbours, nearestNeighbours } from "./match.ts";

/** Below this many dot products the JavaScript kernel is used (session call overhead dominates). */
const SMALL_PROBLEM = 20_000;

/** Asynchronous nearest-neighbour function (both directions), as used by the verifier. */
export type NearestNeighbourFn = (
  a: Float32Array,
  b: Float32Array,
  dim: number,
) => Promise<NearestNeighbours>;

/** The pure JavaScript kernel wrapped as a {@link NearestNeighbourFn}. */
export const jsNearestNeighbours: NearestNeighbourFn = (a, b, dim) =>
  Promise.resolve(nearestNeighbours(a, b, dim));

function similarityGraph(): Uint8Array {
  const g = new GraphBuilder("waymark_mutual_nn");
  const a = g.input("a", ["n", "d"]);
  const b = g.input("b", ["m", "d"]);
  const sim = g.op("Gemm", [a, b], { transB: 1 });
  // Indices leave the graph as float32 (exact below 2^24) so the session adapter's float tensors carry them.
  const rowIndex = g.op("Cast", [g.op("ArgMax", [sim], { axis: 1, keepdims: 0 })], { to: DataType.FLOAT });
  const colIndex = g.op("Cast", [g.op("ArgMax", [sim], { axis: 0, keepdims: 0 })], { to: DataType.FLOAT });
  g.output(rowIndex, "row_index", ["n"]);
  g.output(g.op("ReduceMax", [sim], { axes: [1], keepdims: 0 }), "row_sim", ["n"]);
  g.output(colIndex, "col_index", ["m"]);
  return g.toBytes({ opset: 13 });
}

let shared: Promise<NearestNeighbourFn> | null = null;

/**
 * Create (once per process; later calls share it) the ONNX Runtime nearest-neighbour backend.
 * `threads` is ONNX Runtime's intra-op thread count (default 1: verification runs beside the fast path).
 *
 * @example
 * ```ts
 * import { onnxNearestNeighbours } from "./onnx_matcher.ts";
 * const nn = await onnxNearestNeighbours();
 * const r = await nn(new Float32Array([1, 0]), new Float32Array([0, 1, 1, 0]), 2);
 * console.assert(r.rowIndex[0] === 1);
 * ```
 */
export function onnxNearestNeighbours(threads = 1): Promise<NearestNeighbourFn> {
  if (shared) return shared;
  shared = (async () => {
    const session = await createSession(similarityGraph(), {
      provider: "cpu",
      intraOpNumThreads: threads,
      label: "waymark mutual-NN graph",
    });
    const fn: NearestNeighbourFn = (a, b, dim) => {
      const n = a.length / dim, m = b.length / dim;
      if (n * m < SMALL_PROBLEM || !Number.isInteger(n) || !Number.isInteger(m)) {
        return Promise.resolve(nearestNeighbours(a, b, dim));
      }
      const run = session.run({ a: { data: a, dims: [n, dim] }, b: { data: b, dims: [m, dim] } }).then((
        out,
      ) => ({
        rowIndex: Int32Array.from(out.row_index.data),
        rowSim: out.row_sim.data,
        colIndex: Int32Array.from(out.col_index.data),
      }));
      return run;
    };
    return fn;
  })();
  shared.catch(() => (shared = null));
  return shared;
}
