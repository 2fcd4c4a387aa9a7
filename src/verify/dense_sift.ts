/**
 * A dense SIFT-like descriptor grid computed in TypeScript (no model), with a training-free attention score.
 * It is the verifier's own dense front end when no descriptor model with a local output is given, and the
 * reference for tests.
 *
 * Layout (matches `DenseLocalFeatures`): 4x4 cells of `cellSize` px, 8 orientation bins (128-d), one descriptor
 * every `stride` = 2 cells, receptive-field centre of cell (gx, gy) at `offset + g * stride` with
 * `offset = 2 * cellSize`. Gradient magnitudes are soft-binned between the two nearest orientations and summed
 * per cell in one pass; a descriptor is the concatenation of its 16 cells, L2-normalised, clipped at 0.2,
 * L1-normalised and square-rooted (RootSIFT), so rows are unit vectors. The layout, the bilinear cell weights,
 * the Gaussian window and the normalisation are the shared definition in `src/kernels/sift.ts` (the default
 * model's ONNX front end computes the same descriptor).
 *
 * Attention (training-free): the Shi-Tomasi corner score, i.e. the smaller eigenvalue of the structure tensor
 * summed over the descriptor's 16x16 support, divided by its area, with intensities in [0, 1]. Flat or
 * edge-only patches (which match ambiguously) score near 0; textured, corner-rich patches score high; a blank
 * image scores 0 everywhere.
 *
 * @module
 */
import type { DenseLocalFeatures, PixelImage } from "../types.ts";
import {
  cellWeight,
  rootSiftInPlace,
  SIFT_BINS,
  SIFT_CELLS,
  SIFT_DIM,
  SIFT_WINDOW,
} from "../kernels/sift.ts";

/** Options of {@link denseSift}. */
export interface DenseSiftOptions {
  /** Cell side in pixels (descriptor support is 4 cells). Default 4. */
  cellSize?: number;
}

/** Grey levels in [0, 1] of a PixelImage (ITU-R 601 luma for RGB). */
export function toGray(image: PixelImage): Float32Array {
  const { width, height, channels, data } = image;
  const out = new Float32Array(width * height);
  if (channels === 1) {
    for (let i = 0; i < out.length; i++) out[i] = data[i] / 255;
  } else {
    for (let i = 0, p = 0; i < out.length; i++, p += 3) {
      out[i] = (0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]) / 255;
    }
  }
  return out;
}

/**
 * Dense 128-d descriptors and attention over a grey image (values in [0, 1], row-major).
 *
 * @example
 * ```ts
 * import { denseSift } from "./dense_sift.ts";
 * const w = 64, h = 48;
 * const gray = new Float32Array(w * h).map((_, i) => ((i % w) >> 3) % 2);
 * const f = denseSift(gray, w, h);
 * console.assert(f.dim === 128 && f.gridWidth === 15 && f.attention!.length === 15 * 11);
 * ```
 */
export function denseSift(
  gray: Float32Array,
  width: number,
  height: number,
  options: DenseSiftOptions = {},
): DenseLocalFeatures {
  const cell = options.cellSize ?? 4;
  const cw = Math.floor(width / cell), ch = Math.floor(height / cell);
  const stride = 2 * cell;
  const gridWidth = Math.max(0, Math.floor((cw - 4) / 2) + 1);
  const gridHeight = Math.max(0, Math.floor((ch - 4) / 2) + 1);
  const hist = new Float32Array(cw * ch * 8);
  const tensor = new Float32Array(cw * ch * 3);
  for (let y = 0; y < ch * cell; y++) {
    const cy = (y / cell) | 0;
    const row = y * width;
    const up = (y > 0 ? y - 1 : y) * width, down = (y < height - 1 ? y + 1 : y) * width;
    for (let x = 0; x < cw * cell; x++) {
      const gx = 0.5 * (gray[row + (x < width - 1 ? x + 1 : x)] - gray[row + (x > 0 ? x - 1 : x)]);
      const gy = 0.5 * (gray[down + x] - gray[up + x]);
      const c = cy * cw + ((x / cell) | 0);
      tensor[3 * c] += gx * gx;
      tensor[3 * c + 1] += gy * gy;
      tensor[3 * c + 2] += gx * gy;
      const mag = Math.sqrt(gx * gx + gy * gy);
      if (mag === 0) continue;
      let o = (Math.atan2(gy, gx) / (2 * Math.PI)) * 8;
      if (o < 0) o += 8;
      const b0 = Math.floor(o);
      const f = o - b0;
      hist[8 * c + (b0 & 7)] += mag * (1 - f);
      hist[8 * c + ((b0 + 1) & 7)] += mag * f;
    }
  }
  const dim = SIFT_DIM;
  const descriptors = new Float32Array(gridWidth * gridHeight * dim);
  const attention = new Float32Array(gridWidth * gridHeight);
  const area = 16 * cell * cell;
  for (let gy = 0; gy < gridHeight; gy++) {
    for (let gx = 0; gx < gridWidth; gx++) {
      const loc = gy * gridWidth + gx;
      const base = loc * dim;
      let sxx = 0, syy = 0, sxy = 0;
      for (let j = 0; j < SIFT_CELLS; j++) {
        for (let i = 0; i < SIFT_CELLS; i++) {
          const c = (2 * gy + j) * cw + 2 * gx + i;
          sxx += tensor[3 * c], syy += tensor[3 * c + 1], sxy += tensor[3 * c + 2];
          descriptors.set(hist.subarray(8 * c, 8 * c + SIFT_BINS), base + (j * SIFT_CELLS + i) * SIFT_BINS);
        }
      }
      const tr = (sxx + syy) / 2;
      attention[loc] = Math.max(0, tr - Math.sqrt(((sxx - syy) / 2) ** 2 + sxy * sxy)) / area;
      // Flat patch: zero descriptor (and zero attention).
      rootSiftInPlace(descriptors, base);
    }
  }
  return {
    gridWidth,
    gridHeight,
    dim,
    stride,
    offset: 2 * cell,
    descriptors,
    attention,
    imageWidth: width,
    imageHeight: height,
  };
}

/**
 * Bilinear resize of a grey image (values in [0, 1]); for factors below 0.75 a 2x2 box pre-filter limits
 * aliasing. Returns the new image and its size.
 */
export function resizeGray(
  gray: Float32Array,
  width: number,
  height: number,
  scale: number,
): { gray: Float32Array; width: number; height: number } {
  if (scale === 1) return { gray, width, height };
  let src = gray;
  if (scale < 0.75) {
    src = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      const y1 = Math.min(height - 1, y + 1);
      for (let x = 0; x < width; x++) {
        const x1 = Math.min(width - 1, x + 1);
        src[y * width + x] = 0.25 *
          (gray[y * width + x] + gray[y * width + x1] + gray[y1 * width + x] + gray[y1 * width + x1]);
      }
    }
  }
  const w = Math.max(1, Math.round(width * scale)), h = Math.max(1, Math.round(height * scale));
  const out = new Float32Array(w * h);
  const sx = width / w, sy = height / h;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy), y1 = Math.min(height - 1, y0 + 1), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx), x1 = Math.min(width - 1, x0 + 1), tx = fx - x0;
      const a = src[y0 * width + x0] * (1 - tx) + src[y0 * width + x1] * tx;
      const b = src[y1 * width + x0] * (1 - tx) + src[y1 * width + x1] * tx;
      out[y * w + x] = a * (1 - ty) + b * ty;
    }
  }
  return { gray: out, width: w, height: h };
}

/**
 * One pyramid level prepared for keypoint-first extraction ({@link siftLevel}): orientation histograms and
 * structure-tensor sums per `sub` x `sub` pixel block (`sub` = half a descriptor cell), so that attention can
 * be evaluated and descriptors built at any block position (a 2 px step at the default cell of 4 px).
 */
export interface SiftLevel {
  width: number;
  height: number;
  /** Block side in pixels (half a cell). */
  sub: number;
  /** Blocks per row and per column. */
  bw: number;
  bh: number;
  /** bw*bh*8 soft-binned gradient magnitudes per orientation. */
  hist: Float32Array;
  /** (bw+1)*(bh+1)*3 summed-area table of the structure tensor (gx², gy², gx·gy) over blocks. */
  tensorSat: Float64Array;
}

/**
 * Orientation histograms and structure-tensor sums per block of a grey image (values in [0, 1]). The
 * orientation is a polynomial arctangent (error < 0.3°), soft-binned between the two nearest of 8 bins.
 */
export function siftLevel(gray: Float32Array, width: number, height: number, cellSize = 4): SiftLevel {
  const sub = Math.max(1, cellSize >> 1);
  const bw = Math.floor(width / sub), bh = Math.floor(height / sub);
  const hist = new Float32Array(bw * bh * 8);
  const tensor = new Float64Array(bw * bh * 3);
  const k8 = 8 / (2 * Math.PI);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      const c = by * bw + bx, h8 = 8 * c;
      let txx = 0, tyy = 0, txy = 0;
      for (let y = by * sub; y < (by + 1) * sub; y++) {
        const row = y * width;
        const up = (y > 0 ? y - 1 : y) * width, down = (y < height - 1 ? y + 1 : y) * width;
        for (let x = bx * sub; x < (bx + 1) * sub; x++) {
          const gx = 0.5 * (gray[row + (x < width - 1 ? x + 1 : x)] - gray[row + (x > 0 ? x - 1 : x)]);
          const gy = 0.5 * (gray[down + x] - gray[up + x]);
          txx += gx * gx, tyy += gy * gy, txy += gx * gy;
          const m2 = gx * gx + gy * gy;
          if (m2 === 0) continue;
          const mag = Math.sqrt(m2);
          const ax = gx < 0 ? -gx : gx, ay = gy < 0 ? -gy : gy;
          const t = ax > ay ? ay / ax : ax / ay;
          let a = t * (0.9724 - 0.1919 * t * t);
          if (ay > ax) a = 1.5707963267948966 - a;
          if (gx < 0) a = 3.141592653589793 - a;
          if (gy < 0) a = 6.283185307179586 - a;
          let o = a * k8;
          if (o >= 8) o -= 8;
          const b0 = o | 0;
          const f = o - b0;
          hist[h8 + b0] += mag * (1 - f);
          hist[h8 + ((b0 + 1) & 7)] += mag * f;
        }
      }
      tensor[3 * c] = txx, tensor[3 * c + 1] = tyy, tensor[3 * c + 2] = txy;
    }
  }
  const w1 = bw + 1;
  const tensorSat = new Float64Array(w1 * (bh + 1) * 3);
  for (let y = 0; y < bh; y++) {
    let r0 = 0, r1 = 0, r2 = 0;
    for (let x = 0; x < bw; x++) {
      const c = 3 * (y * bw + x);
      r0 += tensor[c], r1 += tensor[c + 1], r2 += tensor[c + 2];
      const o = 3 * ((y + 1) * w1 + x + 1), p = o - 3 * w1;
      tensorSat[o] = tensorSat[p] + r0, tensorSat[o + 1] = tensorSat[p + 1] + r1;
      tensorSat[o + 2] = tensorSat[p + 2] + r2;
    }
  }
  return { width, height, sub, bw, bh, hist, tensorSat };
}

/**
 * Shi-Tomasi attention (smaller structure-tensor eigenvalue per pixel of the window, intensities in [0, 1]) of
 * the `win` x `win`-block window whose top-left block is (x, y).
 */
export function siftAttentionAt(level: SiftLevel, x: number, y: number, win: number): number {
  const w1 = level.bw + 1, s = level.tensorSat;
  const a = 3 * (y * w1 + x),
    b = 3 * (y * w1 + x + win),
    c = 3 * ((y + win) * w1 + x),
    d = 3 * ((y + win) * w1 + x + win);
  const sxx = s[d] - s[b] - s[c] + s[a];
  const syy = s[d + 1] - s[b + 1] - s[c + 1] + s[a + 1];
  const sxy = s[d + 2] - s[b + 2] - s[c + 2] + s[a + 2];
  const area = win * win * level.sub * level.sub;
  return Math.max(0, (sxx + syy) / 2 - Math.sqrt(((sxx - syy) / 2) ** 2 + sxy * sxy)) / area;
}

/**
 * Triangle weights of the 4 blocks (half cells) pooled into one cell: the shared bilinear weight at each block
 * centre's distance from the cell centre (-0.75, -0.25, 0.25, 0.75 cells).
 */
const CELL_W = [0, 1, 2, 3].map((v) => cellWeight((v - 1.5) / 2));

/**
 * The 128-d RootSIFT descriptor (unit L2) whose 4x4 cells start at block (x, y): cell (i, j) pools blocks
 * x + 2i - 1 .. x + 2i + 2 (and likewise in y) with triangle weights; needs 1 <= x, x + 8 < bw (same in y).
 * Writes into `out` at `offset`; returns false (and writes zeros) for a flat patch.
 */
export function siftDescriptorAt(
  level: SiftLevel,
  x: number,
  y: number,
  out: Float32Array,
  offset: number,
  gaussian = true,
): boolean {
  const { hist, bw } = level;
  for (let j = 0; j < SIFT_CELLS; j++) {
    for (let i = 0; i < SIFT_CELLS; i++) {
      const o = offset + (j * SIFT_CELLS + i) * SIFT_BINS;
      for (let b = 0; b < SIFT_BINS; b++) out[o + b] = 0;
      const g = gaussian ? SIFT_WINDOW[j * SIFT_CELLS + i] : 1;
      for (let v = 0; v < 4; v++) {
        const rowBase = ((y + 2 * j - 1 + v) * bw + x + 2 * i - 1) * 8;
        const wv = CELL_W[v] * g;
        for (let u = 0; u < 4; u++) {
          const w = wv * CELL_W[u], h = rowBase + u * 8;
          out[o] += w * hist[h];
          out[o + 1] += w * hist[h + 1];
          out[o + 2] += w * hist[h + 2];
          out[o + 3] += w * hist[h + 3];
          out[o + 4] += w * hist[h + 4];
          out[o + 5] += w * hist[h + 5];
          out[o + 6] += w * hist[h + 6];
          out[o + 7] += w * hist[h + 7];
        }
      }
    }
  }
  return rootSiftInPlace(out, offset);
}
