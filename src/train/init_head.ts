/**
 * Initial head parameters, as the paper: k-means centres of local descriptors sampled from training images, then
 * `initParams` (vladv1 or vladv2) of the NetVLAD layer; optional PCA whitening (`fitPca` of the default model,
 * same regulariser) fitted on the initial VLAD vectors of the training images.
 *
 * @module
 */
import { invalid, TrainingError } from "../errors.ts";
import { initParams, type NetVladVariant } from "../model/netvlad.ts";
import { fitPca } from "../model/pca.ts";
import { kmeans } from "./kmeans.ts";
import { headForward, type HeadParams, type PreparedFeatures } from "./netvlad_grad.ts";
import { Rng } from "./rng.ts";

/** Options of {@linkcode initHead}. */
export interface InitHeadOptions {
  /** Clusters K. Default 64. */
  clusters?: number;
  /** NetVLAD variant for `initParams`. Default "vladv2" (has a learnable bias from the start). */
  variant?: NetVladVariant;
  /** Local descriptors sampled for k-means. Default 20000. */
  samples?: number;
  /** Whitening output dimension, or 0 for none. Default 0. */
  whitenDim?: number;
  /** Seed. Default 0. */
  seed?: number;
}

/**
 * k-means + `initParams` (+ optional PCA whitening) from prepared training feature maps.
 *
 * @example
 * ```ts
 * import { initHead } from "./init_head.ts";
 * import { syntheticProblem } from "./synthetic.ts";
 * const p = syntheticProblem({ places: 8 });
 * const head = initHead(p.database, { clusters: 4 });
 * console.assert(head.K === 4 && head.C === p.channels);
 * ```
 */
export function initHead(features: PreparedFeatures[], options: InitHeadOptions = {}): HeadParams {
  const K = options.clusters ?? 64;
  const variant = options.variant ?? "vladv2";
  const samples = options.samples ?? 20000;
  const whitenDim = options.whitenDim ?? 0;
  const act = "initialise the NetVLAD head";
  if (!Number.isInteger(K) || K < 2) throw invalid(act, "clusters", "an integer >= 2", K);
  if (!Number.isInteger(samples) || samples < K) {
    throw invalid(act, "samples", `an integer >= clusters (${K})`, samples);
  }
  if (!Number.isInteger(whitenDim) || whitenDim < 0) {
    throw invalid(act, "whitenDim", "an integer >= 0", whitenDim);
  }
  if (features.length === 0) {
    throw new TrainingError("Cannot initialise the NetVLAD head: no training images");
  }
  const C = features[0].C;
  const total = features.reduce((s, f) => s + f.M, 0);
  if (total < K) {
    throw new TrainingError(
      `Cannot initialise the NetVLAD head: ${total} local descriptors for ${K} clusters`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const n = Math.min(samples, total);
  // uniform sample of (image, position) pairs without replacement
  const picks = new Set<number>();
  if (n === total) { for (let i = 0; i < total; i++) picks.add(i); }
  else while (picks.size < n) picks.add(rng.int(total));
  const sorted = [...picks].sort((a, b) => a - b);
  const data = new Float32Array(n * C);
  let fi = 0, base = 0, w = 0;
  for (const g of sorted) {
    while (g >= base + features[fi].M) {
      base += features[fi].M;
      fi++;
    }
    const m = g - base;
    data.set(features[fi].data.subarray(m * C, (m + 1) * C), w * C);
    w++;
  }
  const km = kmeans(data, C, K, { seed: options.seed ?? 0 });
  const p = initParams(
    { data: km.centroids, rows: K, cols: C },
    { data, rows: n, cols: C },
    variant,
  );
  const head: HeadParams = {
    K,
    C,
    weight: Float64Array.from(p.weight),
    bias: p.bias ? Float64Array.from(p.bias) : new Float64Array(K),
    centres: Float64Array.from(p.centroids),
  };
  if (whitenDim > 0) {
    const KC = K * C;
    if (whitenDim > Math.min(features.length - 1, KC)) {
      throw invalid(
        act,
        "whitenDim",
        `at most min(images - 1, K*C) = ${Math.min(features.length - 1, KC)}`,
        whitenDim,
      );
    }
    const vlads = new Float32Array(features.length * KC);
    features.forEach((f, i) => vlads.set(headForward(head, f).vlad, i * KC));
    const pca = fitPca(vlads, KC, whitenDim, { seed: options.seed ?? 1 });
    head.whitening = {
      outDim: whitenDim,
      matrix: Float64Array.from(pca.components),
      mean: Float64Array.from(pca.mean),
    };
  }
  return head;
}
