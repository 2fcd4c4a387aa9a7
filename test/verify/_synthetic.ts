/** Test helpers: textured synthetic images and a shifted copy. */
import type { PixelImage } from "../../src/types.ts";
import { mulberry32 } from "../../src/_rng.ts";

/** Random blobs and rectangles on a grey background: rich, non-repetitive texture. */
export function texturedImage(width: number, height: number, seed: number): PixelImage {
  const r = mulberry32(seed);
  const data = new Uint8Array(width * height).fill(128);
  for (let s = 0; s < 180; s++) {
    const x0 = Math.floor(r() * width), y0 = Math.floor(r() * height);
    const w = 3 + Math.floor(r() * 25), h = 3 + Math.floor(r() * 25);
    const v = Math.floor(r() * 256);
    for (let y = y0; y < Math.min(height, y0 + h); y++) {
      for (let x = x0; x < Math.min(width, x0 + w); x++) data[y * width + x] = v;
    }
  }
  return { width, height, channels: 1, data };
}

/** `img` translated by (dx, dy) (integer pixels), uncovered area filled with grey. */
export function shifted(img: PixelImage, dx: number, dy: number): PixelImage {
  const { width, height } = img;
  const data = new Uint8Array(width * height).fill(128);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sy >= 0 && sx < width && sy < height) data[y * width + x] = img.data[sy * width + sx];
    }
  }
  return { width, height, channels: 1, data };
}

/** A uniform image. */
export function blankImage(width: number, height: number, value = 200): PixelImage {
  return { width, height, channels: 1, data: new Uint8Array(width * height).fill(value) };
}
