/** Helpers shared by the simulator tests. */
import type { PixelImage } from "../../../src/types.ts";

/** A zero-mean, unit-norm grey thumbnail (box-filtered) of an RGB image. */
export function thumbnail(img: PixelImage, w = 32, h = 24): Float64Array {
  const out = new Float64Array(w * h);
  const bx = img.width / w, by = img.height / h;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 3;
      out[Math.floor(y / by) * w + Math.floor(x / bx)] += img.data[o] * 0.299 + img.data[o + 1] * 0.587 +
        img.data[o + 2] * 0.114;
    }
  }
  let m = 0;
  for (const v of out) m += v;
  m /= out.length;
  let s = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] -= m;
    s += out[i] * out[i];
  }
  s = Math.sqrt(s) || 1;
  for (let i = 0; i < out.length; i++) out[i] /= s;
  return out;
}

/** Normalised correlation of two thumbnails. */
export function correlation(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Mean grey level of an RGB image. */
export function meanLevel(img: PixelImage): number {
  let s = 0;
  for (let i = 0; i < img.data.length; i++) s += img.data[i];
  return s / img.data.length;
}

/** Parse a small CSV (no quoting needed for the simulator's output) into header and rows. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trim().split("\n");
  return { header: lines[0].split(","), rows: lines.slice(1).map((l) => l.split(",")) };
}
