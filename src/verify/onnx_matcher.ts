/**
 * Fast nearest-neighbour backend: the same contract as `nearestNeighbours()` in `match.ts`, computed by a
 * three-node ONNX graph (Gemm A·Bᵀ, then ArgMax/ReduceMax over rows and ArgMax over columns) on ONNX Runtime's
 * CPU GEMM. About 10x faster than the JavaScript kernel for 1000 x 1000 x 40 (2.7 ms vs 35 ms measured on the
 * shared 2-core box). The graph is generated in memory; nothing is downloaded.
 *
 * @module
 */
import ort from "onnxruntime-node";
import { buildOnnxModel, OnnxType } from "./_onnx_proto.ts";
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
  return buildOnnxModel({
    name: "waymark_mutual_nn",
    nodes: [
      { opType: "Gemm", inputs: ["a", "b"], outputs: ["s"], attributes: { transB: 1 } },
      { opType: "ArgMax", inputs: ["s"], outputs: ["row_index"], attributes: { axis: 1, keepdims: 0 } },
      { opType: "ReduceMax", inputs: ["s"], outputs: ["row_sim"], attributes: { axes: [1], keepdims: 0 } },
      { opType: "ArgMax", inputs: ["s"], outputs: ["col_index"], attributes: { axis: 0, keepdims: 0 } },
    ],
    inputs: [
      { name: "a", elemType: OnnxType.FLOAT, shape: ["n", "d"] },
      { name: "b", elemType: OnnxType.FLOAT, shape: ["m", "d"] },
    ],
    outputs: [
      { name: "row_index", elemType: OnnxType.INT64, shape: ["n"] },
      { name: "row_sim", elemType: OnnxType.FLOAT, shape: ["n"] },
      { name: "col_index", elemType: OnnxType.INT64, shape: ["m"] },
    ],
  });
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
    const session = await ort.InferenceSession.create(similarityGraph(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
    });
    // Runs are serialised: one ONNX session, one caller at a time.
    let queue: Promise<unknown> = Promise.resolve();
    const fn: NearestNeighbourFn = (a, b, dim) => {
      const n = a.length / dim, m = b.length / dim;
      if (n * m < SMALL_PROBLEM || !Number.isInteger(n) || !Number.isInteger(m)) {
        return Promise.resolve(nearestNeighbours(a, b, dim));
      }
      const run = queue.then(async () => {
        const out = await session.run({
          a: new ort.Tensor("float32", a, [n, dim]),
          b: new ort.Tensor("float32", b, [m, dim]),
        });
        const ri = out.row_index.data as BigInt64Array;
        const ci = out.col_index.data as BigInt64Array;
        const rowIndex = new Int32Array(n), colIndex = new Int32Array(m);
        for (let i = 0; i < n; i++) rowIndex[i] = Number(ri[i]);
        for (let j = 0; j < m; j++) colIndex[j] = Number(ci[j]);
        return { rowIndex, rowSim: new Float32Array(out.row_sim.data as Float32Array), colIndex };
      });
      queue = run.catch(() => undefined);
      return run;
    };
    return fn;
  })();
  shared.catch(() => (shared = null));
  return shared;
}
