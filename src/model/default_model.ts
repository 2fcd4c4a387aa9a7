/**
 * The default descriptor model, built by the project with no download and no training: dense RootSIFT
 * (as convolutions) -> NetVLAD (centres from k-means on the map's own descriptors, `initParams`) ->
 * optional signed-sqrt power normalisation -> optional PCA whitening learnt on the map -> L2.
 * One ONNX graph with outputs `global` [N, D] and `local` [N, h, w, 128] (NHWC).
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { DenseLocalFeatures, PixelImage, ProviderChoice } from "../types.ts";
import { toNchw } from "../image/normalise.ts";
import { convertChannels, resizePixels } from "../image/resize.ts";
import { kmeans, seededRandom } from "../kernels/kmeans.ts";
import {
  addDenseSift,
  addDenseSiftParts,
  DENSE_SIFT_DEFAULTS,
  denseGrid,
  type DenseSiftOptions,
} from "./dense_sift.ts";
import { GraphBuilder } from "./graph_builder.ts";
import { decodeModel } from "./onnx_proto.ts";
import { createManifest, type ModelBundle, type ModelManifest } from "./manifest.ts";
import { addNetVladLayer, initParams, type NetVladParams, type NetVladVariant } from "./netvlad.ts";
import { fitPca, type PcaParams } from "./pca.ts";
import { createSession, type RuntimeSession } from "./runtime.ts";
import { readGenericModelBundle } from "./generic_model.ts";

/** Local descriptor length of the dense SIFT front end. */
export const LOCAL_DIM = 128;

/**
 * Default shrinkage of the PCA whitening (fraction of the mean retained eigenvalue added to each): three times
 * that mean, so that on a map of a few dozen images the whitening weights, estimated from few independent
 * samples, depend little on which random crops fed them, and the axes of a night-like map's noise are not
 * amplified.
 */
export const PCA_SHRINKAGE_DEFAULT = 3;

/**
 * Fewest map images the default model learns PCA whitening from (`FitDefaultOptions.pcaMinImages`). A variance
 * estimated from n independent samples has a relative standard error of sqrt(2 / (n - 1)); the crops add no
 * independent places, so n is the number of images. Below 32 images that error exceeds a quarter of every
 * variance the whitening divides by, and the axes themselves (at most n - 1 of them) span so little of the
 * space that projecting onto them throws away what tells the places apart: such a map keeps the raw VLAD.
 */
export const PCA_MIN_IMAGES = 32;

/**
 * Fewest map images the default model fits a vocabulary of its own from (`FitDefaultOptions.vocabularyMinImages`).
 * A smaller map's vocabulary is blended with the shipped generic one (k-means started from the generic centres,
 * each weighted as {@link SMALL_MAP_PRIOR_IMAGES} images' worth of descriptors): 64 centres fitted on the
 * descriptors of a few images describe those images' particular texture, and the same place seen under other
 * conditions is assigned to them unstably: on the suite's eight 10-image maps the fitted vocabulary's Recall@1
 * moves by up to 0.10 between k-means seeds 1-4 (blended: 0.02), and its mean is 0.03 lower
 * (`bench/results/2026-12-02-small-map-vocabulary.md`). The threshold is the one the whitening uses, for the
 * same reason: a map of fewer images is too few independent samples of its places.
 */
export const VOCABULARY_MIN_IMAGES = 32;

/** Weight of the generic vocabulary, in images, when a small map's vocabulary is blended with it. */
export const SMALL_MAP_PRIOR_IMAGES = 100;

/** Everything that defines a default-model graph. */
export interface DefaultModelParams {
  /** Network input size (grey). */
  inputWidth: number;
  inputHeight: number;
  frontEnd: DenseSiftOptions;
  netvlad: NetVladParams;
  /** Signed square root + L2 on the VLAD vector before PCA. */
  powerNorm: boolean;
  /** PCA whitening (input K*C, output D), or null for the raw VLAD vector. */
  pca: PcaParams | null;
}

/**
 * Whether the NetVLAD layer weights descriptors by their length: when the front end damps descriptors it does
 * not trust (noise floor, contrast threshold). The training head must do the same.
 */
export function weightedAggregation(frontEnd: DenseSiftOptions): boolean {
  return (frontEnd.noiseFloor ?? 0) > 0 || frontEnd.contrastThreshold > 0;
}

/** Global descriptor length of a parameter set. */
export function descriptorDimOf(params: DefaultModelParams): number {
  return params.pca ? params.pca.dim : params.netvlad.clusters * params.netvlad.dim;
}

/**
 * Build the full default-model ONNX graph from parameters (also how a trained NetVLAD/whitening head becomes a
 * model: pass its weights here). Input `image` [N, 1, H, W] grey in [0, 1]; outputs `global`, `local`.
 */
export function buildDefaultModelGraph(params: DefaultModelParams): Uint8Array {
  const nv = params.netvlad;
  if (nv.dim !== LOCAL_DIM) throw invalid("build the default model", "netvlad.dim", `${LOCAL_DIM}`, nv.dim);
  if (params.pca && params.pca.inputDim !== nv.clusters * nv.dim) {
    throw invalid(
      "build the default model",
      "pca.inputDim",
      `K*C = ${nv.clusters * nv.dim}`,
      params.pca.inputDim,
    );
  }
  const g = new GraphBuilder("waymark_dsift_netvlad");
  const image = g.input("image", ["N", 1, "H", "W"]);
  const fe = addDenseSiftParts(g, image, params.frontEnd);
  const local = g.output(fe.local, "local", ["N", "h", "w", LOCAL_DIM]);
  const split = fe.weight && weightedAggregation(params.frontEnd)
    ? { unit: fe.unit, weight: fe.weight }
    : undefined;
  let v = addNetVladLayer(g, local, nv, { layout: "NHWC", split }).vlad;
  if (params.powerNorm) v = g.l2Normalize(g.mul(g.sign(v), g.sqrt(g.abs(v))), 1);
  if (params.pca) {
    const p = params.pca;
    // y = (v - mean) W^T = v W^T - mean W^T
    const wt = new Float32Array(p.inputDim * p.dim);
    for (let r = 0; r < p.dim; r++) {
      for (let j = 0; j < p.inputDim; j++) wt[j * p.dim + r] = p.components[r * p.inputDim + j];
    }
    const bias = new Float32Array(p.dim);
    for (let r = 0; r < p.dim; r++) {
      let s = 0;
      for (let j = 0; j < p.inputDim; j++) s += p.components[r * p.inputDim + j] * p.mean[j];
      bias[r] = -s;
    }
    v = g.add(
      g.matmul(v, g.constant(wt, [p.inputDim, p.dim], "pca_matrix")),
      g.constant(bias, [p.dim], "pca_bias"),
    );
    v = g.l2Normalize(v, 1);
  }
  g.output(v, "global", ["N", descriptorDimOf(params)]);
  // Support: the mean length of the local descriptors, which is their noise-floor weight (1 without a floor).
  // A dark, noisy frame rests on few descriptors; the temporal filter trusts its match less. With a weight the
  // front end already has it (local = unit x weight); only without one are the lengths measured.
  const lengths = fe.weight ?? g.sqrt(g.reduceSum(g.mul(local, local), [3], true)); // [N, h, w, 1]
  g.output(g.op("ReduceMean", [lengths], { axes: [1, 2, 3], keepdims: 0 }), "support", ["N"]);
  return g.toBytes({ docString: "Waymark default model: dense RootSIFT -> NetVLAD -> whitening" });
}

/** Build an ONNX graph of the front end alone: `image` [N,1,H,W] -> `local` [N,h,w,128] (NHWC). */
export function buildFrontEndGraph(frontEnd: DenseSiftOptions = DENSE_SIFT_DEFAULTS): Uint8Array {
  const g = new GraphBuilder("waymark_dsift");
  const image = g.input("image", ["N", 1, "H", "W"]);
  g.output(addDenseSift(g, image, frontEnd), "local", ["N", "h", "w", LOCAL_DIM]);
  return g.toBytes();
}

/** Manifest for a default-model graph; `how` ends its description ("fitted on 120 images"). */
export async function defaultModelManifest(
  params: DefaultModelParams,
  onnx: Uint8Array,
  name: string,
  how: string,
  provenance: Record<string, unknown> = {},
): Promise<ModelManifest> {
  const pca = params.pca ? `, PCA-whitened to ${params.pca.dim}` : "";
  const description = `Dense RootSIFT + NetVLAD (K=${params.netvlad.clusters}${pca}) ${how}`;
  const grid = denseGrid(params.inputWidth, params.inputHeight, params.frontEnd);
  return await createManifest(onnx, {
    name,
    input: {
      name: "image",
      width: params.inputWidth,
      height: params.inputHeight,
      channels: 1,
      layout: "NCHW",
      mean: [0],
      std: [1],
    },
    outputs: {
      global: { name: "global", dim: descriptorDimOf(params) },
      local: { name: "local", dim: LOCAL_DIM, stride: grid.stride, offset: grid.offset, layout: "NHWC" },
    },
    description,
    provenance: {
      kind: "dsift-netvlad",
      clusters: params.netvlad.clusters,
      alpha: params.netvlad.alpha,
      vladVariant: params.netvlad.bias ? "vladv2" : "vladv1",
      powerNorm: params.powerNorm,
      pcaDim: params.pca?.dim ?? null,
      frontEnd: params.frontEnd,
      ...provenance,
    },
  });
}

/**
 * The NetVLAD parameters (vocabulary) of a default-model bundle, read back from its graph: the centres, the
 * soft-assignment weights and bias, and alpha from the manifest. A bundle that is not a default model (another
 * kind, or no NetVLAD constants) is a ValidationError.
 */
export function vocabularyOf(bundle: ModelBundle): NetVladParams {
  const action = "read the vocabulary of a model";
  const prov = bundle.manifest.provenance ?? {};
  const K = prov.clusters, alpha = prov.alpha;
  if (prov.kind !== "dsift-netvlad" || typeof K !== "number" || typeof alpha !== "number") {
    throw invalid(action, "manifest.provenance", "a dsift-netvlad model with clusters and alpha", prov.kind);
  }
  const inits = decodeModel(bundle.onnx).graph?.initializer ?? [];
  const floats = (prefix: string, length: number): Float32Array | null => {
    const t = inits.find((i) => String(i.name).startsWith(prefix));
    if (!t) return null;
    const raw = t.rawData;
    if (!raw || raw.length !== length * 4) {
      throw invalid(
        action,
        `${prefix} (in ${bundle.manifest.name})`,
        `${length} float32 values`,
        raw?.length ?? 0,
      );
    }
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
  };
  const C = LOCAL_DIM;
  const centroids = floats("netvlad_centroids", K * C);
  const wt = floats("netvlad_weight", C * K);
  if (!centroids || !wt) throw invalid(action, "model graph", "the NetVLAD constants", bundle.manifest.name);
  const weight = new Float32Array(K * C);
  for (let k = 0; k < K; k++) for (let j = 0; j < C; j++) weight[k * C + j] = wt[j * K + k];
  return { clusters: K, dim: C, alpha, weight, bias: floats("netvlad_bias", K), centroids };
}

/** Runs the dense front end alone (k-means samples, training). */
export class FrontEnd {
  readonly options: DenseSiftOptions;
  readonly width: number;
  readonly height: number;
  #session: RuntimeSession;

  private constructor(session: RuntimeSession, options: DenseSiftOptions, width: number, height: number) {
    this.#session = session;
    this.options = options;
    this.width = width;
    this.height = height;
  }

  /** Create a front end for images resized to `width` x `height`. */
  static async create(
    width: number,
    height: number,
    options: { frontEnd?: Partial<DenseSiftOptions>; provider?: ProviderChoice } = {},
  ): Promise<FrontEnd> {
    const fe = { ...DENSE_SIFT_DEFAULTS, ...options.frontEnd };
    const session = await createSession(buildFrontEndGraph(fe), {
      provider: options.provider ?? "cpu",
      label: "dense SIFT front end",
    });
    return new FrontEnd(session, fe, width, height);
  }

  /** Dense descriptors of images (resized to the front end's size), HWC per image. */
  async run(images: PixelImage[]): Promise<DenseLocalFeatures[]> {
    if (images.length === 0) return [];
    const sized = images.map((img) => convertChannels(resizePixels(img, this.width, this.height), 1));
    const input = toNchw(sized, { width: this.width, height: this.height, channels: 1, mean: [0], std: [1] });
    const out = await this.#session.run({
      image: { data: input, dims: [images.length, 1, this.height, this.width] },
    });
    const { data, dims } = out.local;
    const [, gh, gw, dim] = dims;
    const plane = gh * gw;
    const grid = denseGrid(this.width, this.height, this.options);
    return images.map((_, b) => {
      const hwc = data.slice(b * dim * plane, (b + 1) * dim * plane);
      return {
        gridWidth: gw,
        gridHeight: gh,
        dim,
        stride: grid.stride,
        offset: grid.offset,
        descriptors: hwc,
        imageWidth: this.width,
        imageHeight: this.height,
      };
    });
  }

  async close(): Promise<void> {
    await this.#session.close();
  }
}

/** Dense front-end descriptors of images (convenience over {@link FrontEnd}). */
export async function frontEndDescriptors(
  images: PixelImage[],
  options: { inputWidth?: number; inputHeight?: number; frontEnd?: Partial<DenseSiftOptions> } = {},
): Promise<DenseLocalFeatures[]> {
  if (images.length === 0) return [];
  const w = options.inputWidth ?? 320;
  const h = options.inputHeight ?? Math.round((w * images[0].height) / images[0].width);
  const fe = await FrontEnd.create(w, h, { frontEnd: options.frontEnd });
  try {
    return await fe.run(images);
  } finally {
    await fe.close();
  }
}

/** Progress report of {@link fitDefaultModel}. */
export interface FitProgress {
  stage: "descriptors" | "kmeans" | "global" | "pca" | "done";
  done: number;
  total?: number;
}

/** Options of {@link fitDefaultModel}. */
export interface FitDefaultOptions {
  /** NetVLAD clusters K. Default 64. */
  clusters?: number;
  /** PCA whitening output size; 0 or undefined keeps the raw K*128 VLAD. Default 0. */
  pcaDim?: number;
  /** Signed-sqrt power normalisation of the VLAD vector. Default true. */
  powerNorm?: boolean;
  /** NetVLAD initialisation variant. Default "vladv1". */
  variant?: NetVladVariant;
  /** Random local descriptors sampled per image for k-means. Default 1000. */
  samplesPerImage?: number;
  /** Cap on k-means training descriptors. Default 60000. */
  maxSamples?: number;
  /** k-means iterations. Default 20. */
  kmeansIterations?: number;
  /** Independent k-means++ starts; the vocabulary of lowest inertia is kept. Default 1. */
  kmeansRestarts?: number;
  /** Spherical k-means (unit-length centres) for the vocabulary. Default false. */
  kmeansSpherical?: boolean;
  /** Seed for sampling and k-means. Default 1. */
  seed?: number;
  /** Network input width. Default 320. */
  inputWidth?: number;
  /** Network input height. Default: from the first image's aspect ratio. */
  inputHeight?: number;
  /** Front-end settings. Default {@link DENSE_SIFT_DEFAULTS}. */
  frontEnd?: Partial<DenseSiftOptions>;
  /** Model name in the manifest. Default "waymark-dsift-netvlad". */
  name?: string;
  /**
   * Shrinkage of the whitening: added to every eigenvalue before whitening, as a fraction of the mean retained
   * eigenvalue (see `fitPca`'s `regulariser`). Default PCA_SHRINKAGE_DEFAULT.
   */
  pcaShrinkage?: number;
  /**
   * A fixed vocabulary (NetVLAD parameters, e.g. the shipped generic model's): no k-means, the images only feed
   * the PCA whitening (if any). Its `clusters` overrides `clusters`.
   */
  vocabulary?: NetVladParams;
  /**
   * Blend with a prior vocabulary: k-means starts from these K x 128 centres and each centre's update is
   * shrunk towards its prior one as if `images` prior images had contributed to it (maximum a posteriori
   * k-means with the prior as pseudo-counts: `kmeans`' `init` + `pseudoCounts`, `images` times the map's
   * descriptors per image spread evenly over the K centres), so a small map moves the centres little and a
   * large one fully. With `images` 0 it is plain k-means started from the prior centres.
   */
  prior?: { centroids: Float32Array; images: number };
  /**
   * Fewest images for a vocabulary of the map's own: with fewer images (and neither `vocabulary` nor `prior`
   * given), the vocabulary is blended with `smallMapVocabulary` weighted as {@link SMALL_MAP_PRIOR_IMAGES}
   * images, as `prior` does, and the manifest says so (`provenance.vocabularyRule`). 0 turns the rule off.
   * Default {@link VOCABULARY_MIN_IMAGES}.
   */
  vocabularyMinImages?: number;
  /**
   * The vocabulary a small map is blended with. Default: the shipped generic model's
   * (`models/waymark-generic`), read only when needed. A vocabulary whose K differs from `clusters` is not
   * used (the map's own is fitted, and the manifest says why).
   */
  smallMapVocabulary?: NetVladParams;
  /**
   * Fewest images for PCA whitening: with `pcaDim` > 0 and fewer images than this (at least 2 are always
   * needed), no whitening is learnt and the model keeps the raw K*128 VLAD, saying so in its manifest
   * (`provenance.whitening` and the description). Default {@link PCA_MIN_IMAGES}.
   */
  pcaMinImages?: number;
  /** Extra PCA samples: random crops per image (VLADs of sub-windows). Default 6. */
  pcaCropsPerImage?: number;
  /** Images kept in memory for the PCA pass (reservoir sample). Default 2000. */
  maxPcaImages?: number;
  onProgress?: (p: FitProgress) => void;
}

/** Result of {@link fitDefaultModel}: a model bundle plus its parameters. */
export interface FittedDefaultModel extends ModelBundle {
  params: DefaultModelParams;
}

function validateFit(o: FitDefaultOptions): void {
  const action = "fit the default model";
  const posInt = (name: string, v: unknown) => {
    if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v <= 0)) {
      throw invalid(action, name, "a positive integer", v);
    }
  };
  posInt("clusters", o.clusters);
  posInt("samplesPerImage", o.samplesPerImage);
  posInt("maxSamples", o.maxSamples);
  posInt("kmeansRestarts", o.kmeansRestarts);
  posInt("inputWidth", o.inputWidth);
  posInt("inputHeight", o.inputHeight);
  posInt("maxPcaImages", o.maxPcaImages);
  if (o.pcaDim !== undefined && (!Number.isInteger(o.pcaDim) || o.pcaDim < 0)) {
    throw invalid(action, "pcaDim", "a non-negative integer (0 = no PCA)", o.pcaDim);
  }
  if (o.pcaMinImages !== undefined && (!Number.isInteger(o.pcaMinImages) || o.pcaMinImages < 0)) {
    throw invalid(action, "pcaMinImages", "a non-negative integer", o.pcaMinImages);
  }
  if (
    o.vocabularyMinImages !== undefined &&
    (!Number.isInteger(o.vocabularyMinImages) || o.vocabularyMinImages < 0)
  ) {
    throw invalid(
      action,
      "vocabularyMinImages",
      "a non-negative integer (0 = never blend)",
      o.vocabularyMinImages,
    );
  }
  if (o.variant !== undefined && o.variant !== "vladv1" && o.variant !== "vladv2") {
    throw invalid(action, "variant", "vladv1 or vladv2", o.variant);
  }
}

async function* iterate(images: PixelImage[] | Iterable<PixelImage> | AsyncIterable<PixelImage>) {
  yield* images as AsyncIterable<PixelImage>;
}

/**
 * Fit the default model on a map's images: dense descriptors, k-means centres, `initParams`, then (optionally)
 * PCA whitening of the map's global descriptors. Deterministic for a seed.
 *
 * @example
 * ```ts ignore
 * import { fitDefaultModel } from "./default_model.ts";
 * const bundle = await fitDefaultModel(mapImages, { clusters: 64 });
 * ```
 */
export async function fitDefaultModel(
  images: PixelImage[] | Iterable<PixelImage> | AsyncIterable<PixelImage>,
  options: FitDefaultOptions = {},
): Promise<FittedDefaultModel> {
  validateFit(options);
  const K = options.vocabulary?.clusters ?? options.clusters ?? 64;
  const seed = options.seed ?? 1;
  const samplesPerImage = options.samplesPerImage ?? 1000;
  const maxSamples = options.maxSamples ?? 60000;
  const maxPcaImages = options.maxPcaImages ?? 2000;
  const progress = options.onProgress ?? (() => {});
  const rand = seededRandom(seed);
  const fe = { ...DENSE_SIFT_DEFAULTS, ...options.frontEnd };
  let frontEnd: FrontEnd | null = null;
  const width = options.inputWidth ?? 320;
  let height = options.inputHeight ?? 0;
  // Reservoir of k-means samples and of prepared images for the PCA pass.
  const pool = new Float32Array(maxSamples * LOCAL_DIM);
  let seen = 0, poolCount = 0;
  const kept: PixelImage[] = [];
  let count = 0;
  try {
    for await (const img of iterate(images)) {
      if (!frontEnd) {
        if (!height) height = Math.max(32, Math.round((width * img.height) / img.width));
        frontEnd = await FrontEnd.create(width, height, { frontEnd: fe });
      }
      const small = convertChannels(resizePixels(img, width, height), 1);
      if (kept.length < maxPcaImages) kept.push(small);
      else {
        const j = Math.floor(rand() * (count + 1));
        if (j < maxPcaImages) kept[j] = small;
      }
      const [dense] = await frontEnd.run([small]);
      const n = dense.gridWidth * dense.gridHeight;
      const take = Math.min(samplesPerImage, n);
      for (let t = 0; t < take; t++) {
        const p = Math.floor(rand() * n);
        const src = dense.descriptors.subarray(p * LOCAL_DIM, (p + 1) * LOCAL_DIM);
        let norm = 0;
        for (let j = 0; j < LOCAL_DIM; j++) norm += src[j] * src[j];
        if (norm < 0.25) continue; // flat, or within the noise floor: not a visual word
        let slot: number;
        if (poolCount < maxSamples) slot = poolCount++;
        else {
          slot = Math.floor(rand() * (seen + 1));
          if (slot >= maxSamples) {
            seen++;
            continue;
          }
        }
        seen++;
        const inv = 1 / Math.sqrt(norm);
        for (let j = 0; j < LOCAL_DIM; j++) pool[slot * LOCAL_DIM + j] = src[j] * inv;
      }
      count++;
      progress({ stage: "descriptors", done: count });
    }
  } finally {
    await frontEnd?.close();
  }
  if (count === 0) throw invalid("fit the default model", "images", "at least one image", 0);
  const given = options.vocabulary;
  if (given && given.dim !== LOCAL_DIM) {
    throw invalid("fit the default model", "vocabulary.dim", `${LOCAL_DIM}`, given.dim);
  }
  if (!given && poolCount < K) {
    throw invalid(
      "fit the default model",
      "images",
      `textured enough to give at least ${K} local descriptors`,
      poolCount,
    );
  }
  progress({ stage: "kmeans", done: 0, total: 1 });
  const data = pool.subarray(0, poolCount * LOCAL_DIM);
  const iterations = options.kmeansIterations ?? 20;
  let netvlad: NetVladParams;
  let vocabulary: "fitted" | "given" | "blended" = "fitted";
  let prior = options.prior;
  let vocabularyRule: string | undefined;
  const vocabularyMinImages = options.vocabularyMinImages ?? VOCABULARY_MIN_IMAGES;
  if (!given && !prior && count < vocabularyMinImages) {
    const small = options.smallMapVocabulary ?? vocabularyOf(await readGenericModelBundle());
    if (small.clusters === K && small.dim === LOCAL_DIM) {
      prior = { centroids: small.centroids, images: SMALL_MAP_PRIOR_IMAGES };
      vocabularyRule =
        `blended: ${count} images, fewer than the ${vocabularyMinImages} a vocabulary of its own ` +
        `needs (the generic vocabulary weighted as ${SMALL_MAP_PRIOR_IMAGES} images)`;
    } else {
      vocabularyRule =
        `fitted: ${count} images, fewer than ${vocabularyMinImages}, but the small-map vocabulary ` +
        `has ${small.clusters} clusters, not ${K}`;
    }
  }
  if (given) {
    netvlad = given;
    vocabulary = "given";
  } else {
    let centroids: Float32Array;
    if (prior) {
      if (prior.centroids.length !== K * LOCAL_DIM) {
        throw invalid(
          "fit the default model",
          "prior.centroids.length",
          `K*C = ${K * LOCAL_DIM}`,
          prior.centroids.length,
        );
      }
      if (!(prior.images >= 0)) {
        throw invalid("fit the default model", "prior.images", "a number >= 0", prior.images);
      }
      // The prior weighs as `images` images' worth of this map's descriptors, spread evenly over the centres.
      // The blend runs one update more than `iterations` (as it always has), so blended vocabularies stay put.
      centroids = kmeans(data, LOCAL_DIM, K, {
        init: prior.centroids,
        pseudoCounts: (prior.images * (poolCount / count)) / K,
        maxIterations: iterations + 1,
      }).centroids;
      vocabulary = "blended";
    } else {
      centroids = kmeans(data, LOCAL_DIM, K, {
        seed,
        maxIterations: iterations,
        restarts: options.kmeansRestarts ?? 1,
        spherical: options.kmeansSpherical ?? false,
      }).centroids;
    }
    // initParams on up to 10000 training descriptors (O(N*K*C)).
    const nTrain = Math.min(poolCount, 10000);
    netvlad = initParams(
      { data: centroids, rows: K, cols: LOCAL_DIM },
      { data: data.subarray(0, nTrain * LOCAL_DIM), rows: nTrain, cols: LOCAL_DIM },
      options.variant ?? "vladv1",
    );
  }
  progress({ stage: "kmeans", done: 1, total: 1 });
  const powerNorm = options.powerNorm ?? true;
  let params: DefaultModelParams = {
    inputWidth: width,
    inputHeight: height,
    frontEnd: fe,
    netvlad,
    powerNorm,
    pca: null,
  };
  const pcaDim = options.pcaDim ?? 0;
  const pcaMinImages = options.pcaMinImages ?? PCA_MIN_IMAGES;
  let whitening: string | undefined;
  if (pcaDim > 0 && kept.length < pcaMinImages) {
    whitening = `skipped: ${kept.length} images, fewer than the ${pcaMinImages} whitening needs`;
  } else if (pcaDim > 0) {
    const vlads = await globalDescriptorsForPca(params, kept, options.pcaCropsPerImage ?? 6, rand, progress);
    // Crops are not independent samples of the map: the dimension is bounded by the images themselves.
    const dim = Math.min(pcaDim, kept.length - 1);
    if (dim < 1) {
      throw invalid("fit the default model", "images", "at least 2 for PCA whitening", kept.length);
    }
    progress({ stage: "pca", done: 0, total: 1 });
    const regulariser = options.pcaShrinkage ?? PCA_SHRINKAGE_DEFAULT;
    params = { ...params, pca: fitPca(vlads, K * LOCAL_DIM, dim, { seed, regulariser }) };
    progress({ stage: "pca", done: 1, total: 1 });
  }
  const onnx = buildDefaultModelGraph(params);
  const name = options.name ?? "waymark-dsift-netvlad";
  const manifest = await defaultModelManifest(
    params,
    onnx,
    name,
    `${vocabulary} vocabulary${
      vocabularyRule && vocabulary === "blended" ? " (small map)" : ""
    }, fitted on ${count} images${whitening ? ` (PCA whitening ${whitening})` : ""}`,
    {
      fittedOn: count,
      seed,
      vocabulary,
      ...(vocabularyRule ? { vocabularyRule } : {}),
      ...(whitening ? { whitening } : {}),
    },
  );
  progress({ stage: "done", done: count });
  return { manifest, onnx, params };
}

/**
 * VLAD vectors (before PCA) of the images and of random crops of them (more samples for PCA): what
 * `fitDefaultModel` learns the whitening from. `images` are already at the model's input size and grey; each
 * image's vector is followed by those of its `cropsPerImage` crops (0.6 to 0.9 of each side, drawn by `rand`).
 * Exported for measurements of the whitening (`scripts/pca_small_maps.ts`).
 */
export async function globalDescriptorsForPca(
  params: DefaultModelParams,
  images: PixelImage[],
  cropsPerImage: number,
  rand: () => number,
  progress: (p: FitProgress) => void,
): Promise<Float32Array> {
  const session = await createSession(buildDefaultModelGraph(params), {
    provider: "cpu",
    label: "default model (fit)",
  });
  const D = descriptorDimOf(params);
  const out: Float32Array[] = [];
  try {
    const { inputWidth: w, inputHeight: h } = params;
    for (let i = 0; i < images.length; i++) {
      const img = images[i];
      const full = toNchw([img], { width: w, height: h, channels: 1, mean: [0], std: [1] });
      const r = await session.run({ image: { data: full, dims: [1, 1, h, w] } }, ["global"]);
      out.push(r.global.data.slice(0, D));
      for (let c = 0; c < cropsPerImage; c++) {
        const scale = 0.6 + 0.3 * rand();
        const cw = Math.round(w * scale), ch = Math.round(h * scale);
        const x0 = Math.floor(rand() * (w - cw + 1)), y0 = Math.floor(rand() * (h - ch + 1));
        const crop = new Float32Array(cw * ch);
        for (let y = 0; y < ch; y++) {
          for (let x = 0; x < cw; x++) crop[y * cw + x] = full[(y0 + y) * w + x0 + x];
        }
        const rc = await session.run({ image: { data: crop, dims: [1, 1, ch, cw] } }, ["global"]);
        out.push(rc.global.data.slice(0, D));
      }
      progress({ stage: "global", done: i + 1, total: images.length });
    }
  } finally {
    await session.close();
  }
  const all = new Float32Array(out.length * D);
  out.forEach((v, i) => all.set(v, i * D));
  return all;
}
