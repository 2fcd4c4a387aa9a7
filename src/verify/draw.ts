/**
 * Drawing for `waymark verify`: two images side by side with keypoints (circle radius and colour by attention),
 * inlier correspondences as green lines and outliers (tentative matches RANSAC rejected) as red ones, under a banner
 * with the verdict, the inlier count and the threshold it was held to; and an attention heat map over an image with
 * its colour scale. Plain RGB buffers (Bresenham lines, midpoint circles, a 5x7 bitmap font); encoding to PNG is
 * the caller's (sharp).
 *
 * @module
 */
import type { DenseLocalFeatures, LocalFeatures, PixelImage } from "../types.ts";
import type { PairVerification } from "./verifier.ts";
import { drawText, textHeight, textWidth } from "./_font.ts";

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

/** Fill a rectangle (clipped). */
export function fillRect(
  c: RgbCanvas,
  x0: number,
  y0: number,
  w: number,
  h: number,
  rgb: [number, number, number],
) {
  for (let y = Math.max(0, y0); y < Math.min(c.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(c.width, x0 + w); x++) put(c, x, y, rgb);
  }
}

/** Draw text (5x7 font, upper case) with its top-left corner at (x, y). */
export function text(
  c: RgbCanvas,
  str: string,
  x: number,
  y: number,
  rgb: [number, number, number],
  scale = 1,
): void {
  drawText((px, py) => put(c, px, py, rgb), str, x, y, scale);
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

function drawKeypoints(c: RgbCanvas, f: LocalFeatures, x0: number, y0 = 0): void {
  const top = attentionScale(f.attention);
  for (let i = 0; i < f.count; i++) {
    const t = Math.min(1, f.attention[i] / top);
    circle(
      c,
      f.keypoints[2 * i] + x0,
      f.keypoints[2 * i + 1] + y0,
      2 + 4 * t / Math.max(0.25, f.scales[i]) * 0.5,
      heat(t),
    );
  }
}

/** What the verdict banner of {@link drawPair} states besides the result. */
export interface PairDrawOptions {
  /** Inliers a verified pair needs (the verifier's `minInliers`). */
  minInliers?: number;
  /** RANSAC inlier residual in pixels. */
  threshold?: number;
}

export const INLIER_RGB: [number, number, number] = [40, 255, 60];
export const OUTLIER_RGB: [number, number, number] = [255, 50, 40];

/** The verdict line of a pair: `VERIFIED: 165 INLIERS >= 150` or `NOT VERIFIED: 12 INLIERS < 150`. */
export function verdictText(r: PairVerification, options: PairDrawOptions = {}): string {
  const need = options.minInliers;
  const cmp = need === undefined ? "" : r.inliers >= need ? ` >= ${need}` : ` < ${need}`;
  return `${r.ok ? "VERIFIED" : "NOT VERIFIED"}: ${r.inliers} INLIERS${cmp} OF ${r.matches} MATCHES`;
}

/**
 * Side-by-side picture of a verified pair: a banner with the verdict (green when verified, red when not), the
 * inlier count against the threshold and a colour legend; below it A left, B right, keypoints of both, inlier
 * matches as green lines and outlier matches (tentative, rejected by RANSAC) as red lines under them.
 */
export function drawPair(
  a: PixelImage,
  b: PixelImage,
  fa: LocalFeatures,
  fb: LocalFeatures,
  r: PairVerification,
  options: PairDrawOptions = {},
): RgbCanvas {
  const width = a.width + b.width;
  const verdict = verdictText(r, options);
  const big = textWidth(verdict, 2) + 12 <= width ? 2 : 1;
  const top = 6 + textHeight(big) + 4 + textHeight(1) + 6;
  const c = canvas(width, top + Math.max(a.height, b.height));
  fillRect(c, 0, 0, width, top, r.ok ? [20, 110, 40] : [150, 25, 25]);
  text(c, verdict, 6, 6, [255, 255, 255], big);
  const y2 = 6 + textHeight(big) + 4;
  const parts: [string, [number, number, number]][] = [
    ["GREEN: INLIERS", INLIER_RGB],
    ["  RED: OUTLIERS", OUTLIER_RGB],
    [options.threshold !== undefined ? `  RANSAC ${options.threshold} PX` : "", [255, 255, 255]],
    [r.reason ? `  ${r.reason}` : "", [255, 255, 255]],
  ];
  let x = 6;
  for (const [str, rgb] of parts) {
    if (!str) continue;
    if (rgb === OUTLIER_RGB || rgb === INLIER_RGB) {
      fillRect(c, x - 2, y2 - 2, textWidth(str) + 4, textHeight() + 4, [0, 0, 0]);
    }
    text(c, str, x, y2, rgb);
    x += textWidth(str) + 6;
  }
  blit(c, a, 0, top, 0.8);
  blit(c, b, a.width, top, 0.8);
  drawKeypoints(c, fa, 0, top);
  drawKeypoints(c, fb, a.width, top);
  const corr = r.correspondences;
  if (corr) {
    // Outliers first, so that inliers stay visible where they cross.
    for (const inliers of [false, true]) {
      for (let k = 0; k < corr.query.length; k++) {
        if (Boolean(corr.inlier[k]) !== inliers) continue;
        const i = corr.query[k], j = corr.candidate[k];
        line(
          c,
          fa.keypoints[2 * i],
          fa.keypoints[2 * i + 1] + top,
          fb.keypoints[2 * j] + a.width,
          fb.keypoints[2 * j + 1] + top,
          inliers ? INLIER_RGB : OUTLIER_RGB,
        );
      }
    }
  }
  return c;
}

/** Width of the colour scale beside the attention map. */
const SCALE_W = 64;

function shortNumber(v: number): string {
  if (v === 0) return "0";
  if (Math.abs(v) >= 1000 || Math.abs(v) < 0.01) return v.toExponential(1).toUpperCase();
  return String(Number(v.toPrecision(2)));
}

/**
 * The dense attention of one pyramid level as a heat map blended over the image (nearest-cell upsampling), with a
 * colour scale on the right: attention from 0 to the 95th percentile (values above it share the top colour; the
 * colour follows the square root of the attention, so the middle of the bar is a quarter of the top value).
 */
export function drawAttention(img: PixelImage, dense: DenseLocalFeatures, alpha = 0.55): RgbCanvas {
  const c = canvas(img.width + SCALE_W, img.height, 255);
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
      const o = (y * c.width + x) * 3;
      for (let k = 0; k < 3; k++) c.data[o + k] = Math.round((1 - alpha) * c.data[o + k] + alpha * h[k]);
    }
  }
  // The scale: a vertical bar, top value at the top, 0 at the bottom, quarter of the top value in the middle.
  const bx = img.width + 6, by = 12, bh = Math.max(8, img.height - 24);
  for (let y = 0; y < bh; y++) fillRect(c, bx, by + y, 12, 1, heat(1 - y / (bh - 1)));
  const ink: [number, number, number] = [0, 0, 0];
  text(c, "ATT", bx, 2, ink);
  text(c, `${shortNumber(top)}+`, bx + 15, by, ink);
  text(c, shortNumber(top / 4), bx + 15, by + bh / 2 - 3, ink);
  text(c, "0", bx + 15, by + bh - 7, ink);
  return c;
}
