/**
 * Pixels to a model's input tensor: NCHW float32, `(pixel / 255 - mean[c]) / std[c]`. Pure kernel.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { PixelImage } from "../types.ts";

/** Input normalisation of a model. */
export interface InputNormalisation {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Per channel, applied to pixel / 255. */
  mean: number[];
  std: number[];
}

/**
 * Pack images (already at `width` x `height`, any of 1 or 3 channels) into one NCHW float32 batch.
 * Grey images are replicated for RGB models; RGB images are converted to luma (BT.601) for grey models.
 *
 * @example
 * ```ts
 * import { toNchw } from "./normalise.ts";
 * const img = { width: 1, height: 1, channels: 3 as const, data: new Uint8Array([255, 0, 0]) };
 * const t = toNchw([img], { width: 1, height: 1, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
 * console.assert(t[0] === 1 && t[1] === -1);
 * ```
 */
export function toNchw(images: PixelImage[], norm: InputNormalisation, out?: Float32Array): Float32Array {
  const { width, height, channels } = norm;
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw invalid("normalise images", "mean/std", `arrays of ${channels} numbers`, [norm.mean, norm.std]);
  }
  const plane = width * height;
  const size = images.length * channels * plane;
  const t = out && out.length >= size ? out.subarray(0, size) : new Float32Array(size);
  const scale = norm.std.map((s) => 1 / (255 * s));
  const shift = norm.mean.map((m, c) => -m / norm.std[c]);
  for (let b = 0; b < images.length; b++) {
    const img = images[b];
    if (img.width !== width || img.height !== height) {
      throw invalid(
        "normalise images",
        `images[${b}] size`,
        `${width}x${height}`,
        `${img.width}x${img.height}`,
      );
    }
    const src = img.data, base = b * channels * plane;
    if (img.channels === channels) {
      for (let c = 0; c < channels; c++) {
        const sc = scale[c], sh = shift[c], o = base + c * plane;
        for (let i = 0, p = c; i < plane; i++, p += channels) t[o + i] = src[p] * sc + sh;
      }
    } else if (channels === 1) {
      const sc = scale[0], sh = shift[0];
      for (let i = 0, p = 0; i < plane; i++, p += 3) {
        t[base + i] = ((src[p] * 77 + src[p + 1] * 150 + src[p + 2] * 29) / 256) * sc + sh;
      }
    } else {
      for (let c = 0; c < 3; c++) {
        const sc = scale[c], sh = shift[c], o = base + c * plane;
        for (let i = 0; i < plane; i++) t[o + i] = src[i] * sc + sh;
      }
    }
  }
  return t;
}
