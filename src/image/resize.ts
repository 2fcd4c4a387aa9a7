/**
 * Antialiased resize of 8-bit interleaved pixels in TypeScript (separable triangle filter whose support
 * grows with the downscale factor, as PIL's antialiased bilinear). Pure kernel over typed arrays.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { PixelImage } from "../types.ts";

interface Taps {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    let total = 0, n = 0;
    for (let i = lo; i < hi && n < maxTaps; i++, n++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights[o * maxTaps + n] = w;
      total += w;
    }
    for (let t = 0; t < n; t++) weights[o * maxTaps + t] /= total || 1;
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resize to `width` x `height` (aspect not kept). Returns the input unchanged when the size already matches.
 *
 * @example
 * ```ts
 * import { resizePixels } from "./resize.ts";
 * const img = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array([0, 0, 255, 255, 0, 0, 255, 255]) };
 * const small = resizePixels(img, 2, 1);
 * console.assert(small.data[0] < 64 && small.data[1] > 192);
 * ```
 */
export function resizePixels(image: PixelImage, width: number, height: number): PixelImage {
  if (!Number.isInteger(width) || width <= 0) {
    throw invalid("resize an image", "width", "a positive integer", width);
  }
  if (!Number.isInteger(height) || height <= 0) {
    throw invalid("resize an image", "height", "a positive integer", height);
  }
  if (image.width === width && image.height === height) return image;
  const c = image.channels;
  const tx = taps(image.width, width), ty = taps(image.height, height);
  // Horizontal pass into float rows, then vertical pass.
  const mid = new Float32Array(image.height * width * c);
  const src = image.data;
  for (let y = 0; y < image.height; y++) {
    const rowIn = y * image.width * c, rowOut = y * width * c;
    for (let x = 0; x < width; x++) {
      const s = tx.start[x], n = tx.count[x], wo = x * tx.maxTaps;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < n; t++) acc += tx.weights[wo + t] * src[rowIn + (s + t) * c + ch];
        mid[rowOut + x * c + ch] = acc;
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  const rowLen = width * c;
  const acc = new Float32Array(rowLen);
  for (let y = 0; y < height; y++) {
    const s = ty.start[y], n = ty.count[y], wo = y * ty.maxTaps;
    acc.fill(0);
    for (let t = 0; t < n; t++) {
      const w = ty.weights[wo + t], base = (s + t) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] += w * mid[base + i];
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = Math.min(255, Math.max(0, Math.round(acc[i])));
  }
  return { width, height, channels: c, data: out };
}

/**
 * Resize by a `scale` factor: {@link resizePixels} to `max(1, round(width * scale))` x
 * `max(1, round(height * scale))`; the input itself when that is its size. The image pyramids of local
 * feature extraction use it.
 *
 * @example
 * ```ts
 * import { resizeByScale } from "./resize.ts";
 * const img = { width: 4, height: 2, channels: 1 as const, data: new Uint8Array(8) };
 * console.assert(resizeByScale(img, 0.5).width === 2);
 * ```
 */
export function resizeByScale(image: PixelImage, scale: number): PixelImage {
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw invalid("resize an image", "scale", "a positive number", scale);
  }
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  return resizePixels(image, width, height);
}

/**
 * Convert pixels to `channels` (1: luma BT.601 as integers, 3: grey replicated). Returns the input unchanged
 * when it already has that many channels.
 */
export function convertChannels(image: PixelImage, channels: 1 | 3): PixelImage {
  if (image.channels === channels) return image;
  const n = image.width * image.height;
  const src = image.data;
  if (channels === 1) {
    const out = new Uint8Array(n);
    for (let i = 0, p = 0; i < n; i++, p += 3) {
      out[i] = (src[p] * 77 + src[p + 1] * 150 + src[p + 2] * 29 + 128) >> 8;
    }
    return { width: image.width, height: image.height, channels: 1, data: out };
  }
  const out = new Uint8Array(n * 3);
  for (let i = 0, p = 0; i < n; i++, p += 3) out[p] = out[p + 1] = out[p + 2] = src[i];
  return { width: image.width, height: image.height, channels: 3, data: out };
}
