/**
 * Drawing for `waymark verify`: two images side by side with keypoints (circle radius and colour by attention)
 * and inlier correspondences as lines, and an attention heat map over an image. Plain RGB buffers
 * (Bresenham lines, midpoint circles); encoding to PNG is the caller's (sharp).
 *
 * @module
 */
import type { DenseLocalFeatures, LocalFeatures, PixelImage } from "../types.ts";
import type { PairVerification } from "./verifier.ts";

/** An RGB8 canvas. */
export interface RgbCanvas {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Blank canvas of the given size and grey level. */
export function canvas(width: number, height: number, grey = 0): RgbCanvas {
  return { width, height, data: new Uint8Array(width * height * 3).fill(grey) };
}

/** Copy an image into the canvas at (x0, y0) (grey images are expanded), darkened by `dim` in [0, 1]. */
export function blit(c: RgbCanvas, img: PixelImage, x0: number, y0: number, dim = 1): void {
  for (let y = 0; y < img.height && y + y0 < c.height; y++) {
    for (let x = 0; x < img.width && x + x0 < c.width; x++) {
      const o = ((y + y0) * c.width + x + x0) * 3, i = (y * img.width + x) * img.channels;
      for (let k = 0; k < 3; k++) {
        c.data[o + k] = Math.round(img.data[i + (img.channels === 3 ? k : 0)] * dim);
      }
    }
  }
}

function put(c: RgbCanvas, x: number, y: number, rgb: [number, number, number]): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const o = (y * c.width + x) * 3;
  c.data[o] = rgb[0], c.data[o + 1] = rgb[1], c.data[o + 2] = rgb[2];
}

/** Bresenham line. */
export function line(
  c: RgbCanvas,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  rgb: [number, number, number],
): void {
  x0 = Math.round(x0), y0 = Math.round(y0), x1 = Math.round(x1), y1 = Math.round(y1);
  const dx = Math.abs(x1 - x0), dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  for (let guard = 0; guard < 100000; guard++) {
    put(c, x0, y0, rgb);
    if (x0 === x1 && y0 === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

/** Midpoint circle outline. */
export function circle(c: RgbCanvas, cx: number, cy: number, r: number, rgb: [number, number, number]): void {
  cx = Math.round(cx), cy = Math.round(cy), r = Math.max(1, Math.round(r));
  let x = r, y = 0, err = 1 - r;
  while (x >= y) {
    for (const [px, py] of [[x, y], [y, x], [-y, x], [-x, y], [-x, -y], [-y, -x], [y, -x], [x, -y]]) {
      put(c, cx + px, cy + py, rgb);
    }
    y++;
    if (err < 0) err += 2 * y + 1;
    else x--, err += 2 * (y - x) + 1;
  }
}

/** Jet-like colour map of t in [0, 1] (blue, cyan, yellow, red). */
export function heat(t: number): [number, number, number] {
  t = Math.min(1, Math.max(0, t));
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [Math.round(255 * r), Math.round(255 * g), Math.round(255 * b)];
}

function attentionScale(values: Float32Array): number {
  const s = Float32Array.from(values).sort();
  return s.length ? Math.max(1e-12, s[Math.floor(0.95 * (s.length - 1))]) : 1;
}

function drawKeypoints(c: RgbCanvas, f: LocalFeatures, x0: number): void {
  const top = attentionScale(f.attention);
  for (let i = 0; i < f.count; i++) {
    const t = Math.min(1, f.attention[i] / top);
    circle(
      c,
      f.keypoints[2 * i] + x0,
      f.keypoints[2 * i + 1],
      2 + 4 * t / Math.max(0.25, f.scales[i]) * 0.5,
      heat(t),
    );
  }
}

/**
 * Side-by-side picture of a verified pair: A left, B right, keypoints of both, inlier matches as lines
 * (outlier tentative matches are not drawn).
 */
export function drawPair(
  a: PixelImage,
  b: PixelImage,
  fa: LocalFeatures,
  fb: LocalFeatures,
  r: PairVerification,
): RgbCanvas {
  const c = canvas(a.width + b.width, Math.max(a.height, b.height));
  blit(c, a, 0, 0, 0.8);
  blit(c, b, a.width, 0, 0.8);
  drawKeypoints(c, fa, 0);
  drawKeypoints(c, fb, a.width);
  const corr = r.correspondences;
  if (corr) {
    for (let k = 0; k < corr.query.length; k++) {
      if (!corr.inlier[k]) continue;
      const i = corr.query[k], j = corr.candidate[k];
      line(
        c,
        fa.keypoints[2 * i],
        fa.keypoints[2 * i + 1],
        fb.keypoints[2 * j] + a.width,
        fb.keypoints[2 * j + 1],
        [40, 255, 60],
      );
    }
  }
  return c;
}

/** The dense attention of one pyramid level as a heat map blended over the image (nearest-cell upsampling). */
export function drawAttention(img: PixelImage, dense: DenseLocalFeatures, alpha = 0.55): RgbCanvas {
  const c = canvas(img.width, img.height);
  blit(c, img, 0, 0);
  const att = dense.attention ?? new Float32Array(dense.gridWidth * dense.gridHeight);
  const top = attentionScale(att);
  const fx = dense.imageWidth / img.width, fy = dense.imageHeight / img.height;
  for (let y = 0; y < img.height; y++) {
    const gy = Math.min(
      dense.gridHeight - 1,
      Math.max(0, Math.round((y * fy - dense.offset) / dense.stride)),
    );
    for (let x = 0; x < img.width; x++) {
      const gx = Math.min(
        dense.gridWidth - 1,
        Math.max(0, Math.round((x * fx - dense.offset) / dense.stride)),
      );
      const h = heat(Math.sqrt(Math.min(1, att[gy * dense.gridWidth + gx] / top)));
      const o = (y * img.width + x) * 3;
      for (let k = 0; k < 3; k++) c.data[o + k] = Math.round((1 - alpha) * c.data[o + k] + alpha * h[k]);
    }
  }
  return c;
}
