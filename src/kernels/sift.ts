/**
 * The one definition of the SIFT descriptor that both of the project's dense SIFTs compute: the model's ONNX
 * front end (`src/model/dense_sift.ts`, convolutions) and the verifier's TypeScript SIFT
 * (`src/verify/dense_sift.ts`, keypoint-first). A change to the descriptor is made here once.
 *
 * - Layout: 4 x 4 cells of 8 orientation bins, 128 values, cell-major (`(cy * 4 + cx) * 8 + bin`); bin k points
 *   at gradient angle 2 pi k / 8 (atan2(gy, gx), with the image's y axis pointing down).
 * - Spatial pooling: a gradient sample contributes to a cell with the triangle (bilinear) weight of its
 *   distance to the cell's centre, in cells ({@link cellWeight}); a cell pools over two cells' width.
 * - Gaussian window over the 16 cells, sigma = half the descriptor's width ({@link SIFT_WINDOW}).
 * - Normalisation: L2, clip every value at 0.2, then RootSIFT (L1 normalise, square root), so a descriptor has
 *   unit L2 length ({@link rootSiftInPlace}); a flat patch stays zero.
 *
 * The gradients and the orientation binning are each implementation's own (the model bins with a cosine
 * kernel in one convolution, the verifier between the two nearest bins).
 *
 * @module
 */

/** Cells per side of a descriptor. */
export const SIFT_CELLS = 4;
/** Orientation bins per cell. */
export const SIFT_BINS = 8;
/** Descriptor length: cells x cells x bins. */
export const SIFT_DIM = SIFT_CELLS * SIFT_CELLS * SIFT_BINS;
/** SIFT's clipping of L2-normalised values before RootSIFT. */
export const SIFT_CLIP = 0.2;

/** Direction of orientation bin `k` in radians. */
export function binAngle(k: number): number {
  return (2 * Math.PI * k) / SIFT_BINS;
}

/**
 * Triangle (bilinear) weight of a gradient sample at distance `d` from a cell's centre, `d` in cells:
 * max(0, 1 - |d|).
 */
export function cellWeight(d: number): number {
  return Math.max(0, 1 - Math.abs(d));
}

/** Weight of cell (`cy`, `cx`) in SIFT's Gaussian window (sigma = half the descriptor width, in cells). */
export function windowWeight(cy: number, cx: number): number {
  const sigma = SIFT_CELLS / 2, c = (SIFT_CELLS - 1) / 2;
  return Math.exp(-((cy - c) ** 2 + (cx - c) ** 2) / (2 * sigma * sigma));
}

/** The Gaussian window per cell, row-major over the 4 x 4 cells. */
export const SIFT_WINDOW: readonly number[] = Array.from(
  { length: SIFT_CELLS * SIFT_CELLS },
  (_, i) => windowWeight(Math.floor(i / SIFT_CELLS), i % SIFT_CELLS),
);

/**
 * SIFT normalisation then RootSIFT, in place, of the 128 values of `v` from `offset`: L2 normalise, clip at
 * {@link SIFT_CLIP}, L1 normalise, square root. Returns false (and leaves zeros) for a flat patch.
 *
 * @example
 * ```ts
 * import { rootSiftInPlace, SIFT_DIM } from "./sift.ts";
 * const v = new Float32Array(SIFT_DIM);
 * v[0] = 3;
 * v[1] = 4;
 * rootSiftInPlace(v, 0);
 * console.assert(Math.abs(v[0] * v[0] + v[1] * v[1] - 1) < 1e-6);
 * ```
 */
export function rootSiftInPlace(v: Float32Array, offset: number): boolean {
  const end = offset + SIFT_DIM;
  let norm = 0;
  for (let k = offset; k < end; k++) norm += v[k] * v[k];
  if (norm <= 1e-20) {
    v.fill(0, offset, end);
    return false;
  }
  const inv = 1 / Math.sqrt(norm);
  let l1 = 0;
  for (let k = offset; k < end; k++) {
    const c = Math.min(SIFT_CLIP, v[k] * inv);
    v[k] = c;
    l1 += c;
  }
  const invL1 = 1 / l1;
  for (let k = offset; k < end; k++) v[k] = Math.sqrt(v[k] * invL1);
  return true;
}
