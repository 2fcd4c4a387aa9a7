/**
 * DELF-style local features: dense descriptors at several image scales (an image pyramid), attention-based
 * keypoint selection (top N above a threshold, non-maximum suppression across scales), L2 -> PCA -> L2.
 *
 * Dense front ends ({@link DenseExtractor}):
 * - {@link siftExtractor} (default): the TypeScript dense SIFT of `dense_sift.ts` run on each resized image,
 *   with its training-free Shi-Tomasi attention.
 * - {@link modelExtractor}: any `DescriptorModel` whose `describe(image, { local: true })` returns
 *   `DenseLocalFeatures` (the default model's dense SIFT output, or a learned DELF export, see
 *   `delf_contract.ts`). The resized image is given to the model; grid coordinates are mapped back through
 *   `dense.imageWidth/Height`, so a model that resizes internally still gets correct coordinates (but a model
 *   with a fixed input size sees every pyramid level at the same resolution: use scales `[1]` then). When the
 *   model gives no attention, the Shi-Tomasi score is computed in TypeScript at each receptive-field centre.
 *
 * @module
 */
import type { DenseLocalFeatures, DescriptorModel, LocalFeatures, PixelImage } from "../types.ts";
import { invalid } from "../errors.ts";
import { denseSift, resizeGray, toGray } from "./dense_sift.ts";
import { applyPca, type PcaProjection } from "./pca.ts";

/** Dense features of `image` resized by `scale`; `dense.imageWidth/Height` is the size the grid refers to. */
export type DenseExtractor = (image: PixelImage, scale: number) => Promise<DenseLocalFeatures>;

/** Options of {@link extractLocalFeatures}. */
export interface LocalFeatureOptions {
  /** Pyramid scales. Default `[1, 0.7071, 0.5]`. */
  scales?: number[];
  /** Keep at most this many keypoints. Default 1000 (DELF). */
  maxKeypoints?: number;
  /** Minimum attention score of a keypoint. Default 1e-4 (Shi-Tomasi score with intensities in [0, 1]). */
  attentionThreshold?: number;
  /** Suppress a location whose receptive-field box overlaps a stronger one by at least this IoU. Default 0.5. */
  nmsIoU?: number;
  /** Dense front end. Default {@link siftExtractor}(). */
  extractor?: DenseExtractor;
  /** PCA applied after selection; absent: descriptors keep their dense dimension. */
  pca?: PcaProjection;
}

const DEFAULT_SCALES = [1, 0.7071, 0.5];

/** The TypeScript dense SIFT front end (see `dense_sift.ts`). */
export function siftExtractor(options: { cellSize?: number } = {}): DenseExtractor {
  return (image, scale) => {
    const g = resizeGray(toGray(image), image.width, image.height, scale);
    return Promise.resolve(denseSift(g.gray, g.width, g.height, options));
  };
}

/**
 * The grey image local features are extracted from for verification: 8-bit grey, downscaled (never upscaled) so
 * that the longer side is at most `maxSide`. Map build (stored features) and the pipeline's verifier (queries,
 * session keyframes) both use it, so stored and fresh features are comparable.
 */
export function verificationImage(image: PixelImage, maxSide: number): PixelImage {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  if (image.channels === 1 && scale === 1) return image;
  const g = resizeGray(toGray(image), image.width, image.height, scale);
  const data = new Uint8Array(g.width * g.height);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(g.gray[i] * 255)));
  return { width: g.width, height: g.height, channels: 1, data };
}

/** Bilinear resize of 8-bit interleaved pixels. */
export function resizePixels(image: PixelImage, scale: number): PixelImage {
  if (scale === 1) return image;
  const { width, height, channels, data } = image;
  const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
  const out = new Uint8Array(w * h * channels);
  const sx = width / w, sy = height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(height - 1, y0 + 1), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(width - 1, x0 + 1), tx = fx - x0;
      for (let c = 0; c < channels; c++) {
        const a = data[(y0 * width + x0) * channels + c] * (1 - tx) +
          data[(y0 * width + x1) * channels + c] * tx;
        const b = data[(y1 * width + x0) * channels + c] * (1 - tx) +
          data[(y1 * width + x1) * channels + c] * tx;
        out[(y * w + x) * channels + c] = Math.round(a * (1 - ty) + b * ty);
      }
    }
  }
  return { width: w, height: h, channels, data: out };
}

/** Shi-Tomasi score (mean over a (2r+1)^2 window) at each grid centre of `dense`, computed from pixels. */
export function cornerAttention(
  gray: Float32Array,
  width: number,
  height: number,
  dense: DenseLocalFeatures,
): Float32Array {
  const w1 = width + 1;
  const ixx = new Float64Array(w1 * (height + 1)),
    iyy = new Float64Array(ixx.length),
    ixy = new Float64Array(ixx.length);
  for (let y = 0; y < height; y++) {
    let rxx = 0, ryy = 0, rxy = 0;
    for (let x = 0; x < width; x++) {
      const gx = 0.5 * (gray[y * width + Math.min(width - 1, x + 1)] - gray[y * width + Math.max(0, x - 1)]);
      const gy = 0.5 * (gray[Math.min(height - 1, y + 1) * width + x] - gray[Math.max(0, y - 1) * width + x]);
      rxx += gx * gx, ryy += gy * gy, rxy += gx * gy;
      const o = (y + 1) * w1 + x + 1;
      ixx[o] = ixx[o - w1] + rxx, iyy[o] = iyy[o - w1] + ryy, ixy[o] = ixy[o - w1] + rxy;
    }
  }
  const fx = width / dense.imageWidth, fy = height / dense.imageHeight;
  const r = Math.max(1, Math.round(dense.stride * fx));
  const out = new Float32Array(dense.gridWidth * dense.gridHeight);
  const box = (s: Float64Array, x0: number, y0: number, x1: number, y1: number) =>
    s[y1 * w1 + x1] - s[y0 * w1 + x1] - s[y1 * w1 + x0] + s[y0 * w1 + x0];
  for (let gy = 0; gy < dense.gridHeight; gy++) {
    const cy = Math.round((dense.offset + gy * dense.stride) * fy);
    const y0 = Math.max(0, cy - r), y1 = Math.min(height, cy + r);
    for (let gx = 0; gx < dense.gridWidth; gx++) {
      const cx = Math.round((dense.offset + gx * dense.stride) * fx);
      const x0 = Math.max(0, cx - r), x1 = Math.min(width, cx + r);
      const area = Math.max(1, (x1 - x0) * (y1 - y0));
      const a = box(ixx, x0, y0, x1, y1), b = box(iyy, x0, y0, x1, y1), c = box(ixy, x0, y0, x1, y1);
      out[gy * dense.gridWidth + gx] = Math.max(0, (a + b) / 2 - Math.sqrt(((a - b) / 2) ** 2 + c * c)) /
        area;
    }
  }
  return out;
}

/**
 * Dense front end from a descriptor model with a local output. Throws (when called) if the model returns no
 * local features.
 */
export function modelExtractor(model: DescriptorModel): DenseExtractor {
  return async (image, scale) => {
    const resized = resizePixels(image, scale);
    const out = await model.describe(resized, { local: true });
    if (!out.local) {
      throw invalid("extract local features", "model", "a model with a dense local output", model.info.name);
    }
    const dense = out.local;
    if (!dense.attention) {
      dense.attention = cornerAttention(toGray(resized), resized.width, resized.height, dense);
    }
    // Refer the grid to the resized image we gave the model.
    return dense;
  };
}

interface Candidate {
  x: number;
  y: number;
  half: number;
  scale: number;
  score: number;
  level: number;
  index: number;
}

function validate(o: Required<Omit<LocalFeatureOptions, "pca">>): void {
  const act = "extract local features";
  if (!Array.isArray(o.scales) || o.scales.length === 0 || o.scales.some((s) => !(s > 0 && s <= 4))) {
    throw invalid(act, "scales", "a non-empty list of numbers in (0, 4]", o.scales);
  }
  if (!Number.isInteger(o.maxKeypoints) || o.maxKeypoints <= 0) {
    throw invalid(act, "maxKeypoints", "a positive integer", o.maxKeypoints);
  }
  if (!(o.attentionThreshold >= 0)) {
    throw invalid(act, "attentionThreshold", "a number >= 0", o.attentionThreshold);
  }
  if (!(o.nmsIoU > 0 && o.nmsIoU <= 1)) throw invalid(act, "nmsIoU", "a number in (0, 1]", o.nmsIoU);
}

/**
 * Extract DELF-style local features from one image. Never throws on image content: a blank image gives
 * `count: 0`.
 *
 * @example
 * ```ts
 * import { extractLocalFeatures } from "./local_features.ts";
 * const w = 96, h = 64, data = new Uint8Array(w * h);
 * for (let i = 0; i < data.length; i++) data[i] = ((i % w) * 7 + Math.floor(i / w) * 13) % 251;
 * const f = await extractLocalFeatures({ width: w, height: h, channels: 1, data }, { maxKeypoints: 50 });
 * console.assert(f.count <= 50 && f.dim === 128);
 * ```
 */
export async function extractLocalFeatures(
  image: PixelImage,
  options: LocalFeatureOptions = {},
): Promise<LocalFeatures> {
  const o = {
    scales: options.scales ?? DEFAULT_SCALES,
    maxKeypoints: options.maxKeypoints ?? 1000,
    attentionThreshold: options.attentionThreshold ?? 1e-4,
    nmsIoU: options.nmsIoU ?? 0.5,
    extractor: options.extractor ?? siftExtractor(),
  };
  validate(o);
  const levels: DenseLocalFeatures[] = [];
  const cands: Candidate[] = [];
  for (const scale of o.scales) {
    if (Math.round(image.width * scale) < 16 || Math.round(image.height * scale) < 16) continue;
    const dense = await o.extractor(image, scale);
    const level = levels.length;
    levels.push(dense);
    const att = dense.attention;
    if (!att) continue;
    const fx = image.width / dense.imageWidth, fy = image.height / dense.imageHeight;
    const half = dense.stride * fx; // receptive field = 2 strides
    for (let gy = 0, i = 0; gy < dense.gridHeight; gy++) {
      for (let gx = 0; gx < dense.gridWidth; gx++, i++) {
        const score = att[i];
        if (!(score >= o.attentionThreshold) || score <= 0) continue;
        cands.push({
          x: (dense.offset + gx * dense.stride) * fx,
          y: (dense.offset + gy * dense.stride) * fy,
          half,
          scale,
          score,
          level,
          index: i,
        });
      }
    }
  }
  cands.sort((a, b) => b.score - a.score);
  const kept = nmsBoxes(cands, o.nmsIoU, o.maxKeypoints);
  const dim = levels[0]?.dim ?? 0;
  const count = kept.length;
  const keypoints = new Float32Array(2 * count),
    scales = new Float32Array(count),
    attention = new Float32Array(count);
  let descriptors: Float32Array = new Float32Array(count * dim);
  kept.forEach((c, k) => {
    keypoints[2 * k] = c.x, keypoints[2 * k + 1] = c.y;
    scales[k] = c.scale;
    attention[k] = c.score;
    const src = levels[c.level].descriptors.subarray(c.index * dim, (c.index + 1) * dim);
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += src[t] * src[t];
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let t = 0; t < dim; t++) descriptors[k * dim + t] = src[t] * inv;
  });
  let outDim = dim;
  if (options.pca) {
    if (count > 0 && options.pca.inputDim !== dim) {
      throw invalid(
        "extract local features",
        "pca.inputDim",
        `the dense descriptor size ${dim}`,
        options.pca.inputDim,
      );
    }
    descriptors = applyPca(options.pca, descriptors);
    outDim = options.pca.outputDim;
  }
  return {
    count,
    dim: outDim,
    keypoints,
    scales,
    attention,
    descriptors,
    imageWidth: image.width,
    imageHeight: image.height,
  };
}

/** Greedy NMS over score-sorted candidates with square receptive-field boxes; spatial hash for speed. */
function nmsBoxes(sorted: Candidate[], iou: number, max: number): Candidate[] {
  const kept: Candidate[] = [];
  let maxHalf = 0;
  for (const c of sorted) maxHalf = Math.max(maxHalf, c.half);
  const cell = Math.max(1, 2 * maxHalf);
  const grid = new Map<number, Candidate[]>();
  const key = (cx: number, cy: number) => cx * 100003 + cy;
  for (const c of sorted) {
    if (kept.length >= max) break;
    const gx = Math.floor(c.x / cell), gy = Math.floor(c.y / cell);
    let suppressed = false;
    for (let dy = -1; dy <= 1 && !suppressed; dy++) {
      for (let dx = -1; dx <= 1 && !suppressed; dx++) {
        for (const k of grid.get(key(gx + dx, gy + dy)) ?? []) {
          const ix = Math.min(c.x + c.half, k.x + k.half) - Math.max(c.x - c.half, k.x - k.half);
          const iy = Math.min(c.y + c.half, k.y + k.half) - Math.max(c.y - c.half, k.y - k.half);
          if (ix <= 0 || iy <= 0) continue;
          const inter = ix * iy;
          const union = 4 * c.half * c.half + 4 * k.half * k.half - inter;
          if (inter / union >= iou) {
            suppressed = true;
            break;
          }
        }
      }
    }
    if (suppressed) continue;
    kept.push(c);
    const k = key(gx, gy);
    const list = grid.get(k);
    if (list) list.push(c);
    else grid.set(k, [c]);
  }
  return kept;
}
