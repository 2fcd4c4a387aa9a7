/**
 * DELF-style local features: dense descriptors at several image scales (an image pyramid), attention-based
 * keypoint selection (top N above a threshold, non-maximum suppression across scales), L2 -> PCA -> L2.
 *
 * Dense front ends ({@link DenseExtractor}):
 * - {@link siftExtractor} (default): keypoint-first SIFT in TypeScript (`dense_sift.ts`). Per pyramid level,
 *   orientation histograms and structure tensors are summed over 2 px blocks; the training-free Shi-Tomasi
 *   attention is scored at every block position (a 2 px step, refined to sub-block precision), the top
 *   candidates go through the cross-scale NMS, and only the kept keypoints get a descriptor (RootSIFT, 4x4
 *   cells pooled with SIFT's bilinear spatial weights and Gaussian window). Compared with the legacy grid (a
 *   descriptor every 8 px, `sift: { dense: true }`), keypoints sit where the texture is, to ~1 px, and true
 *   pairs collect far more inliers than false ones (true and false pairs separate better on the shared
 *   sequence and on simulator pairs, `scripts/verify_tune.ts`; README, "Measured").
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
import { resizeByScale } from "../image/resize.ts";
import {
  denseSift,
  resizeGray,
  siftAttentionAt,
  siftDescriptorAt,
  type SiftLevel,
  siftLevel,
  toGray,
} from "./dense_sift.ts";
import { applyPca, type PcaProjection } from "./pca.ts";

/** Dense features of `image` resized by `scale`; `dense.imageWidth/Height` is the size the grid refers to. */
export type DenseExtractor = (image: PixelImage, scale: number) => Promise<DenseLocalFeatures>;

/** Options of {@link extractLocalFeatures}. */
export interface LocalFeatureOptions {
  /** Pyramid scales. Default `[1, 0.7071, 0.5, 0.3536]`. */
  scales?: number[];
  /** Keep at most this many keypoints. Default 1000 (DELF). */
  maxKeypoints?: number;
  /** Minimum attention score of a keypoint. Default 1e-5 (Shi-Tomasi score with intensities in [0, 1]). */
  attentionThreshold?: number;
  /** Suppress a location whose receptive-field box overlaps a stronger one by at least this IoU. Default 0.5. */
  nmsIoU?: number;
  /** Dense front end. Default {@link siftExtractor}(). */
  extractor?: DenseExtractor;
  /** PCA applied after selection; absent: descriptors keep their dense dimension. */
  pca?: PcaProjection;
  /** Tuning of the default (keypoint-first SIFT) front end; ignored by other extractors. */
  sift?: SiftTuning;
}

/** Tuning of the keypoint-first SIFT front end (see {@link siftExtractor}). */
export interface SiftTuning {
  /** Attention window side in blocks (half cells). Default 8 (the descriptor's 4x4 cells). */
  attentionWindow?: number;
  /**
   * Keep only local maxima of the attention (3x3 block neighbourhood) at each level. Default false: every block
   * position competes and the cross-scale NMS spaces them (local maxima leave too few keypoints and separate
   * true from false pairs less well, `scripts/verify_tune.ts`).
   */
  localMax?: boolean;
  /** Parabolic sub-block refinement of keypoint positions. Default true. */
  subpixel?: boolean;
  /** Gaussian weighting of the descriptor's cells. Default true. */
  gaussian?: boolean;
  /** Legacy dense grid (a descriptor every 2 cells, every location scored). Default false. */
  dense?: boolean;
}

const SIFT_MARK = Symbol("waymark.siftExtractor");

/**
 * Defaults of {@link extractLocalFeatures} (the default front end is {@link siftExtractor}, keypoint-first):
 * maps record them with their stored features (`src/map/local_features_writer.ts`), so that a change here makes
 * older maps' features count as extracted differently.
 */
export const DEFAULT_LOCAL_FEATURE_OPTIONS: Readonly<{
  scales: readonly number[];
  maxKeypoints: number;
  attentionThreshold: number;
  nmsIoU: number;
}> = Object.freeze({
  scales: Object.freeze([1, 0.7071, 0.5, 0.3536]),
  maxKeypoints: 1000,
  attentionThreshold: 1e-5,
  nmsIoU: 0.5,
});
const D = DEFAULT_LOCAL_FEATURE_OPTIONS;

/** The TypeScript dense SIFT front end (see `dense_sift.ts`). */
export function siftExtractor(options: { cellSize?: number } = {}): DenseExtractor {
  const fn: DenseExtractor = (image, scale) => {
    const g = resizeGray(toGray(image), image.width, image.height, scale);
    return Promise.resolve(denseSift(g.gray, g.width, g.height, options));
  };
  return Object.assign(fn, { [SIFT_MARK]: options.cellSize ?? 4 });
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
    const resized = resizeByScale(image, scale);
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

function validate(o: Required<Omit<LocalFeatureOptions, "pca" | "sift">>): void {
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
    scales: options.scales ?? [...D.scales],
    maxKeypoints: options.maxKeypoints ?? D.maxKeypoints,
    attentionThreshold: options.attentionThreshold ?? D.attentionThreshold,
    nmsIoU: options.nmsIoU ?? D.nmsIoU,
    extractor: options.extractor ?? siftExtractor(),
  };
  validate(o);
  const siftCell = (o.extractor as unknown as Record<symbol, number | undefined>)[SIFT_MARK];
  const sparse = siftCell !== undefined && !options.sift?.dense
    ? sparseSiftCandidates(image, o.scales, siftCell, o.attentionThreshold, options.sift ?? {})
    : await denseCandidates(image, o.scales, o.extractor, o.attentionThreshold);
  const { dim } = sparse;
  // Sorting and suppressing every candidate is the slow part: try the strongest 16 per wanted keypoint first,
  // and widen only when NMS leaves fewer than wanted.
  let kept: Candidate[] = [];
  for (let pool = 16 * o.maxKeypoints;; pool *= 4) {
    const { cands, all } = sparse.select(pool);
    cands.sort((a, b) => b.score - a.score);
    kept = nmsBoxes(cands, o.nmsIoU, o.maxKeypoints);
    if (kept.length >= o.maxKeypoints || all) break;
  }
  const count = kept.length;
  const keypoints = new Float32Array(2 * count),
    scales = new Float32Array(count),
    attention = new Float32Array(count);
  let descriptors: Float32Array = new Float32Array(count * dim);
  kept.forEach((c, k) => {
    keypoints[2 * k] = c.x, keypoints[2 * k + 1] = c.y;
    scales[k] = c.scale;
    attention[k] = c.score;
    sparse.describe(c, descriptors, k * dim);
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

interface CandidateSet {
  /** At least the `pool` best candidates (or all: `all` true). */
  select(pool: number): { cands: Candidate[]; all: boolean };
  dim: number;
  /** Write the unit descriptor of `c` into `out` at `offset`. */
  describe(c: Candidate, out: Float32Array, offset: number): void;
}

/** Candidates from a dense front end: every grid location above the threshold. */
async function denseCandidates(
  image: PixelImage,
  scaleList: number[],
  extractor: DenseExtractor,
  threshold: number,
): Promise<CandidateSet> {
  const levels: DenseLocalFeatures[] = [];
  const cands: Candidate[] = [];
  for (const scale of scaleList) {
    if (Math.round(image.width * scale) < 16 || Math.round(image.height * scale) < 16) continue;
    const dense = await extractor(image, scale);
    const level = levels.length;
    levels.push(dense);
    const att = dense.attention;
    if (!att) continue;
    const fx = image.width / dense.imageWidth, fy = image.height / dense.imageHeight;
    const half = dense.stride * fx; // receptive field = 2 strides
    for (let gy = 0, i = 0; gy < dense.gridHeight; gy++) {
      for (let gx = 0; gx < dense.gridWidth; gx++, i++) {
        const score = att[i];
        if (!(score >= threshold) || score <= 0) continue;
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
  const dim = levels[0]?.dim ?? 0;
  return {
    select: (pool) => ({ cands: topByScore(cands, pool), all: cands.length <= pool }),
    dim,
    describe(c, out, offset) {
      const src = levels[c.level].descriptors.subarray(c.index * dim, (c.index + 1) * dim);
      let norm = 0;
      for (let t = 0; t < dim; t++) norm += src[t] * src[t];
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let t = 0; t < dim; t++) out[offset + t] = src[t] * inv;
    },
  };
}

/**
 * Keypoint-first SIFT: per level, blocks of half a cell; attention at every block position; local maxima
 * (optionally refined to sub-block precision); descriptors built afterwards for the kept keypoints only.
 */
function sparseSiftCandidates(
  image: PixelImage,
  scaleList: number[],
  cell: number,
  threshold: number,
  t: SiftTuning,
): CandidateSet {
  const win = t.attentionWindow ?? 8;
  if (!Number.isInteger(win) || win < 2 || win > 10) {
    throw invalid("extract local features", "sift.attentionWindow", "an integer in [2, 10]", win);
  }
  const localMax = t.localMax ?? false, subpixel = t.subpixel ?? true, gaussian = t.gaussian ?? true;
  const gray = toGray(image);
  const levels: {
    lv: SiftLevel;
    att: Float32Array;
    nx: number;
    ny: number;
    fx: number;
    fy: number;
    scale: number;
  }[] = [];
  // Log-histogram of the scores above the threshold (1/16 octave bins), to pick a cutoff without sorting.
  const BINS = 640;
  const histogram = new Int32Array(BINS);
  const binOf = (a: number) => Math.min(BINS - 1, Math.max(0, Math.floor(Math.log2(a / floor) * 16)));
  const floor = Math.max(threshold, 1e-12);
  let total = 0;
  const off = 4 - (win >> 1);
  for (const scale of scaleList) {
    const g = resizeGray(gray, image.width, image.height, scale);
    const lv = siftLevel(g.gray, g.width, g.height, cell);
    // Window origins x in [1, bw - 9] (the descriptor pools blocks x - 1 .. x + 8).
    const nx = lv.bw - 9, ny = lv.bh - 9;
    if (nx < 1 || ny < 1) continue;
    const att = new Float32Array(nx * ny);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const a = siftAttentionAt(lv, x + 1 + off, y + 1 + off, win);
        att[y * nx + x] = a;
        if (a >= threshold && a > 0) histogram[binOf(a)]++, total++;
      }
    }
    levels.push({ lv, att, nx, ny, fx: image.width / g.width, fy: image.height / g.height, scale });
  }
  const collect = (cutoff: number): Candidate[] => {
    const cands: Candidate[] = [];
    levels.forEach(({ lv, att, nx, ny, fx, fy, scale }, level) => {
      const half = 2 * cell * fx;
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const i = y * nx + x, a = att[i];
          if (!(a >= cutoff) || a <= 0) continue;
          if (localMax && !isLocalMax(att, nx, ny, x, y)) continue;
          let ox = 0, oy = 0;
          if (subpixel) {
            if (x > 0 && x < nx - 1) ox = peak(att[i - 1], a, att[i + 1]);
            if (y > 0 && y < ny - 1) oy = peak(att[i - nx], a, att[i + nx]);
          }
          // Window centre: 4 blocks from its origin x + 1.
          cands.push({
            x: (x + 5 + ox) * lv.sub * fx,
            y: (y + 5 + oy) * lv.sub * fy,
            half,
            scale,
            score: a,
            level,
            index: (y + 1) * lv.bw + x + 1,
          });
        }
      }
    });
    return cands;
  };
  return {
    select(pool) {
      if (total <= pool) return { cands: collect(threshold), all: true };
      let bin = BINS - 1, n = histogram[bin];
      while (bin > 0 && n < pool) n += histogram[--bin];
      return { cands: collect(bin === 0 ? threshold : floor * 2 ** (bin / 16)), all: bin === 0 };
    },
    dim: 128,
    describe(c, out, offset) {
      const lv = levels[c.level].lv;
      siftDescriptorAt(lv, c.index % lv.bw, Math.floor(c.index / lv.bw), out, offset, gaussian);
    },
  };
}

/** Whether att[y][x] is the maximum of its 3x3 neighbourhood (ties: the first in raster order wins). */
function isLocalMax(att: Float32Array, nx: number, ny: number, x: number, y: number): boolean {
  const a = att[y * nx + x];
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= ny) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if ((dx === 0 && dy === 0) || xx < 0 || xx >= nx) continue;
      const b = att[yy * nx + xx];
      if (b > a || (b === a && (dy < 0 || (dy === 0 && dx < 0)))) return false;
    }
  }
  return true;
}

/** Offset in [-0.5, 0.5] of the vertex of the parabola through (-1, a), (0, b), (1, c). */
function peak(a: number, b: number, c: number): number {
  const d = a - 2 * b + c;
  if (!(d < 0)) return 0;
  return Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d));
}

/** The candidates scoring at least the `k`-th best score (all of them when there are at most `k`). */
function topByScore(cands: Candidate[], k: number): Candidate[] {
  if (cands.length <= k) return cands;
  const scores = new Float32Array(cands.length);
  for (let i = 0; i < cands.length; i++) scores[i] = cands[i].score;
  scores.sort();
  const cutoff = scores[cands.length - k];
  return cands.filter((c) => c.score >= cutoff);
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
