/**
 * The NetVLAD layer (Arandjelović et al., CVPR 2016) exactly as the paper: the input is L2-normalised over
 * channels, soft-assigned to K clusters by a 1x1 convolution (with bias for vladv2) and a softmax over K;
 * residuals to the centroids are aggregated (sum_n a_k(n) (x_n - c_k)), intra-normalised per cluster,
 * flattened cluster-major (K*C) and L2-normalised.
 *
 * Three pieces share one parameter type:
 * - {@link initParams}: the paper's initialisation from k-means centres and training descriptors;
 * - {@link netvladForward}: a pure TypeScript reference forward pass (tests, training);
 * - {@link addNetVladLayer}: the same computation as ONNX nodes through a {@link GraphBuilder}.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { GraphBuilder } from "./graph_builder.ts";

/** A row-major float matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** NetVLAD variant: vladv1 (no bias, weights from normalised centres) or vladv2 (bias). */
export type NetVladVariant = "vladv1" | "vladv2";

/** Parameters of a NetVLAD layer with K clusters over C-dimensional descriptors. */
export interface NetVladParams {
  clusters: number;
  dim: number;
  /** Sharpness of the soft assignment. */
  alpha: number;
  /** K*C, row-major: the 1x1 convolution weights. */
  weight: Float32Array;
  /** K, or null (vladv1). */
  bias: Float32Array | null;
  /** K*C centroids c_k. */
  centroids: Float32Array;
}

function checkMatrix(action: string, name: string, m: Matrix): void {
  if (!Number.isInteger(m.rows) || m.rows <= 0 || !Number.isInteger(m.cols) || m.cols <= 0) {
    throw invalid(action, `${name}.rows/cols`, "positive integers", [m.rows, m.cols]);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw invalid(action, `${name}.data.length`, `rows*cols = ${m.rows * m.cols}`, m.data.length);
  }
}

/**
 * Initialise NetVLAD parameters from k-means `clusters` (K x C) and training descriptors (N x C, L2-normalised).
 *
 * - vladv1: a = c_k / ||c_k||; per training descriptor the two largest dots with the a_k;
 *   alpha = -ln(0.01) / mean(dot1 - dot2); weight = alpha * a; no bias.
 * - vladv2: per centroid the squared distances to its two nearest training descriptors;
 *   alpha = -ln(0.01) / mean(d2_2nd - d2_1st); weight = 2 alpha c; bias = -alpha ||c||.
 *   (Distances, not the squared neighbour indices of the code in circulation.)
 *
 * @example
 * ```ts
 * import { initParams } from "./netvlad.ts";
 * const clusters = { data: new Float32Array([1, 0, 0, 1]), rows: 2, cols: 2 };
 * const descs = { data: new Float32Array([1, 0, 0.6, 0.8]), rows: 2, cols: 2 };
 * const p = initParams(clusters, descs, "vladv1");
 * console.assert(p.bias === null && p.alpha > 0);
 * ```
 */
export function initParams(
  clusters: Matrix,
  trainDescs: Matrix,
  variant: NetVladVariant = "vladv1",
): NetVladParams {
  const action = "initialise NetVLAD parameters";
  checkMatrix(action, "clusters", clusters);
  checkMatrix(action, "trainDescs", trainDescs);
  if (trainDescs.cols !== clusters.cols) {
    throw invalid(action, "trainDescs.cols", `equal to clusters.cols (${clusters.cols})`, trainDescs.cols);
  }
  if (variant !== "vladv1" && variant !== "vladv2") {
    throw invalid(action, "variant", "vladv1 or vladv2", variant);
  }
  const K = clusters.rows, C = clusters.cols, N = trainDescs.rows;
  const c = clusters.data, t = trainDescs.data;
  const norms = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += c[k * C + j] * c[k * C + j];
    norms[k] = Math.sqrt(s);
  }
  const weight = new Float32Array(K * C);
  if (variant === "vladv1") {
    if (K < 2) throw invalid(action, "clusters.rows", "at least 2 for vladv1", K);
    const assign = new Float64Array(K * C);
    for (let k = 0; k < K; k++) {
      const n = norms[k] > 0 ? norms[k] : 1;
      for (let j = 0; j < C; j++) assign[k * C + j] = c[k * C + j] / n;
    }
    let gapSum = 0;
    for (let i = 0; i < N; i++) {
      let first = -Infinity, second = -Infinity;
      for (let k = 0; k < K; k++) {
        let d = 0;
        for (let j = 0; j < C; j++) d += t[i * C + j] * assign[k * C + j];
        if (d > first) {
          second = first;
          first = d;
        } else if (d > second) second = d;
      }
      gapSum += first - second;
    }
    const alpha = -Math.log(0.01) / (gapSum / N);
    for (let i = 0; i < K * C; i++) weight[i] = alpha * assign[i];
    return { clusters: K, dim: C, alpha, weight, bias: null, centroids: new Float32Array(c) };
  }
  if (N < 2) throw invalid(action, "trainDescs.rows", "at least 2 for vladv2", N);
  let gapSum = 0;
  for (let k = 0; k < K; k++) {
    let first = Infinity, second = Infinity;
    for (let i = 0; i < N; i++) {
      let d = 0;
      for (let j = 0; j < C; j++) {
        const diff = c[k * C + j] - t[i * C + j];
        d += diff * diff;
      }
      if (d < first) {
        second = first;
        first = d;
      } else if (d < second) second = d;
    }
    gapSum += second - first;
  }
  const alpha = -Math.log(0.01) / (gapSum / K);
  const bias = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < C; j++) weight[k * C + j] = 2 * alpha * c[k * C + j];
    bias[k] = -alpha * norms[k];
  }
  return { clusters: K, dim: C, alpha, weight, bias, centroids: new Float32Array(c) };
}

/** Output of {@link netvladForward}. */
export interface NetVladOutput {
  /** N*K*HW soft assignment. */
  softAssign: Float32Array;
  /** N*K*C, cluster-major, L2-normalised per item. */
  vlad: Float32Array;
}

/**
 * Reference forward pass of the NetVLAD layer over an N x C x H x W feature map (row-major), in float64.
 * `weighted`: each position's assignment is scaled by its descriptor's length capped at 1 (as the graph's
 * `weighted` option).
 *
 * @example
 * ```ts
 * import { netvladForward } from "./netvlad.ts";
 * const p = { clusters: 2, dim: 2, alpha: 1, weight: new Float32Array([1, 0, 0, 1]), bias: null,
 *   centroids: new Float32Array([1, 0, 0, 1]) };
 * const out = netvladForward(new Float32Array([1, 0, 0, 1]), p, { n: 1, height: 1, width: 2 });
 * console.assert(out.vlad.length === 4);
 * ```
 */
export function netvladForward(
  x: Float32Array,
  params: NetVladParams,
  shape: { n: number; height: number; width: number },
  options: { weighted?: boolean } = {},
): NetVladOutput {
  const K = params.clusters, C = params.dim, HW = shape.height * shape.width, N = shape.n;
  if (x.length !== N * C * HW) {
    throw invalid("run the NetVLAD layer", "x.length", `n*C*H*W = ${N * C * HW}`, x.length);
  }
  const softAssign = new Float32Array(N * K * HW);
  const vlad = new Float32Array(N * K * C);
  const xn = new Float64Array(C * HW);
  const weight = new Float64Array(HW);
  const logits = new Float64Array(K);
  const acc = new Float64Array(K * C);
  const mass = new Float64Array(K);
  for (let b = 0; b < N; b++) {
    const base = b * C * HW;
    // L2-normalise over channels at each position (eps as F.normalize: 1e-12).
    for (let p = 0; p < HW; p++) {
      let s = 0;
      for (let j = 0; j < C; j++) s += x[base + j * HW + p] ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      weight[p] = options.weighted ? Math.min(Math.sqrt(s), 1) : 1;
      for (let j = 0; j < C; j++) xn[j * HW + p] = x[base + j * HW + p] * inv;
    }
    acc.fill(0);
    mass.fill(0);
    for (let p = 0; p < HW; p++) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) {
        let d = params.bias ? params.bias[k] : 0;
        for (let j = 0; j < C; j++) d += params.weight[k * C + j] * xn[j * HW + p];
        logits[k] = d;
        if (d > mx) mx = d;
      }
      let z = 0;
      for (let k = 0; k < K; k++) {
        logits[k] = Math.exp(logits[k] - mx);
        z += logits[k];
      }
      for (let k = 0; k < K; k++) {
        const a = (logits[k] / z) * weight[p];
        softAssign[(b * K + k) * HW + p] = a;
        mass[k] += a;
        for (let j = 0; j < C; j++) acc[k * C + j] += a * xn[j * HW + p];
      }
    }
    let total = 0;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < C; j++) {
        const v = acc[k * C + j] - mass[k] * params.centroids[k * C + j];
        acc[k * C + j] = v;
        s += v * v;
      }
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      for (let j = 0; j < C; j++) {
        acc[k * C + j] *= inv;
        total += acc[k * C + j] ** 2;
      }
    }
    const inv = 1 / Math.max(Math.sqrt(total), 1e-12);
    for (let i = 0; i < K * C; i++) vlad[b * K * C + i] = acc[i] * inv;
  }
  return { softAssign, vlad };
}

/**
 * Append the NetVLAD layer to a graph. `x` is [N, C, H, W] (`layout: "NCHW"`, default) or [N, H, W, C]
 * (`"NHWC"`). Returns the names of the soft assignment ([N, K, H*W]; with `split`, its nodes are added when
 * `softAssign` is first read) and of the L2-normalised VLAD vector ([N, K*C], cluster-major).
 *
 * The 1x1 convolution of the paper is computed as the equivalent MatMul over positions ([N, HW, C] x [C, K]),
 * with the softmax over K on the last axis, which is faster on CPU.
 */
export function addNetVladLayer(
  g: GraphBuilder,
  x: string,
  params: NetVladParams,
  options: {
    layout?: "NCHW" | "NHWC";
    /**
     * Weight each descriptor's contribution (soft assignment) by its length, capped at 1, before the input L2
     * normalisation erases it: a front end can then mark descriptors it does not trust (the default model's
     * noise floor). Unit-length inputs give exactly the paper's layer. Default false.
     */
    weighted?: boolean;
    /**
     * `x` already split as `unit` x `weight` (NHWC only): `unit` [N, H, W, C] unit-length rows (a zero row has
     * weight 0) and `weight` [N, H, W, 1] in [0, 1]. The weighted layer then reuses them instead of normalising
     * `x` again (same result as `weighted`).
     */
    split?: { unit: string; weight: string };
  } = {},
): { softAssign: string; vlad: string } {
  const K = params.clusters, C = params.dim;
  const nhwc = (options.layout ?? "NCHW") === "NHWC";
  if (options.split && !nhwc) {
    throw invalid("build the NetVLAD layer", "layout", "NHWC when the input is split", options.layout);
  }
  // Positions-major descriptors [N, HW, C].
  const rows = nhwc ? g.reshape(x, [0, -1, C]) : g.transpose(g.reshape(x, [0, C, -1]), [0, 2, 1]);
  let xn: string, weight: string | null = null;
  if (options.split) xn = g.reshape(options.split.unit, [0, -1, C]);
  else {
    // Input L2 normalisation (F.normalize, eps 1e-12); the norm is kept for the weighted variant.
    const norm = g.reduceL2(rows, [2]); // [N, HW, 1]
    xn = g.div(rows, g.max(norm, g.constant([1e-12], [], "eps")));
    if (options.weighted) weight = g.op("Min", [norm, g.constant([1], [], "one")]);
  }
  const wt = new Float32Array(C * K);
  for (let k = 0; k < K; k++) for (let j = 0; j < C; j++) wt[j * K + k] = params.weight[k * C + j];
  let logits = g.matmul(xn, g.constant(wt, [C, K], "netvlad_weight"));
  if (params.bias) logits = g.add(logits, g.constant(params.bias, [K], "netvlad_bias"));
  const soft = g.softmax(logits, 2); // [N, HW, K]
  const finish = (agg: string, mass: string) => {
    const centroids = g.constant(params.centroids, [K, C], "netvlad_centroids");
    const residual = g.sub(agg, g.mul(mass, centroids));
    const intra = g.l2Normalize(residual, 2);
    return g.l2Normalize(g.reshape(intra, [0, K * C]), 1);
  };
  if (options.split) {
    // sum_n w_n a_k(n) unit_n = sum_n a_k(n) x_n, and the mass sum_n w_n a_k(n) as one product: the weighted
    // assignment itself is built only when asked for (ONNX Runtime runs every node, used or not).
    const w = options.split.weight;
    const agg = g.matmul(g.transpose(soft, [0, 2, 1]), rows); // [N, K, C]
    const mass = g.reshape(g.matmul(g.reshape(options.split.weight, [0, 1, -1]), soft), [0, K, 1]);
    const vlad = finish(agg, mass);
    let softAssign: string | undefined;
    return {
      vlad,
      get softAssign(): string {
        return softAssign ??= g.transpose(g.mul(soft, g.reshape(w, [0, -1, 1])), [0, 2, 1]);
      },
    };
  }
  const assign = weight ? g.mul(soft, weight) : soft;
  const softAssign = g.transpose(assign, [0, 2, 1]); // [N, K, HW]
  const agg = g.matmul(softAssign, xn); // [N, K, C]
  const mass = g.reshape(g.reduceSum(assign, [1], false), [0, K, 1]); // [N, K, 1]
  return { softAssign, vlad: finish(agg, mass) };
}
