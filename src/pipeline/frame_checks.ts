/**
 * Checks a frame must pass before the pipeline claims anything from it:
 * - its stamp: a finite number of seconds in [0, `MAX_STAMP_SECONDS`] (else an error, cause `stamp`, and the
 *   stamp is never copied into an event);
 * - its content: a frame smaller than `minSide` pixels on a side, or whose grey levels are (near) uniform, is
 *   `skipped` (reason `too-small` or `uniform`): it is not described, not searched, never localized and never
 *   a loop closure; with a map it gets a `lost` estimate naming the reason.
 *
 * Near-uniform is measured on block means, so that sensor noise on a blank frame does not count as content:
 * the frame is cut into (up to) 16 x 12 blocks, each block's mean grey level is taken, and the frame is
 * uniform when the standard deviation of those means is below `minContrast` grey levels (of 255).
 *
 * @module
 */
import { FrameFormatError, invalid } from "../errors.ts";
import type { EncodedImage, PixelImage, RawImage } from "../types.ts";

/** Latest accepted frame stamp, in seconds since the epoch (1e10 s: the year 2286). */
export const MAX_STAMP_SECONDS = 1e10;

/** Content thresholds of {@link frameContent}. */
export interface FrameContentOptions {
  /** Smallest width and height of a frame as it arrived, in pixels. Default 16. */
  minSide?: number;
  /** Smallest standard deviation of the 16 x 12 block means, in grey levels (0-255). Default 2. */
  minContrast?: number;
}

/** Default content thresholds. */
export const DEFAULT_FRAME_CONTENT: Readonly<Required<FrameContentOptions>> = { minSide: 16, minContrast: 2 };

/** Why a frame was skipped. */
export type SkipReason = "too-small" | "uniform";

/** Throws `FrameFormatError` unless `stamp` is a finite number of seconds in [0, MAX_STAMP_SECONDS]. */
export function checkStamp(stamp: unknown, source: string): void {
  if (typeof stamp === "number" && stamp >= 0 && stamp <= MAX_STAMP_SECONDS) return;
  const what = typeof stamp !== "number"
    ? `not a number (${typeof stamp})`
    : Number.isNaN(stamp)
    ? "NaN"
    : !Number.isFinite(stamp)
    ? "infinite"
    : stamp < 0
    ? `negative (${stamp})`
    : `beyond ${MAX_STAMP_SECONDS} s (${stamp})`;
  throw new FrameFormatError(
    `${source}: frame stamp is ${what}; expected seconds in [0, ${MAX_STAMP_SECONDS}]`,
    { context: { source } },
  );
}

/** Validate content options (throws `ValidationError`); returns them with defaults filled in. */
export function contentOptions(o: FrameContentOptions = {}): Required<FrameContentOptions> {
  const minSide = o.minSide ?? DEFAULT_FRAME_CONTENT.minSide;
  const minContrast = o.minContrast ?? DEFAULT_FRAME_CONTENT.minContrast;
  if (!Number.isInteger(minSide) || minSide < 1) {
    throw invalid("check frame content", "minSide", "a positive integer", minSide);
  }
  if (!(minContrast >= 0)) throw invalid("check frame content", "minContrast", "a number >= 0", minContrast);
  return { minSide, minContrast };
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);

/** Width and height declared by a JPEG, PNG or WebP header; null when not found (the decoder then decides). */
export function encodedSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[12] === 0x49 && b[13] === 0x48) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const m = b[i + 1];
      if (m === 0xff) {
        i++;
        continue;
      }
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
        return { width: u16be(b, i + 7), height: u16be(b, i + 5) };
      }
      if ((m >= 0xd0 && m <= 0xd9) || m === 0x01) i += 2;
      else i += 2 + u16be(b, i + 2);
    }
    return null;
  }
  if (b.length >= 30 && b[0] === 0x52 && b[8] === 0x57) {
    const chunk = String.fromCharCode(b[12], b[13], b[14], b[15]);
    if (chunk === "VP8 ") return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
    if (chunk === "VP8L") {
      const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    if (chunk === "VP8X") return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  }
  return null;
}

/** Size of a frame's image as it arrived (raw: declared; encoded: its header), or null when unknown. */
export function arrivedSize(image: EncodedImage | RawImage): { width: number; height: number } | null {
  return image.kind === "raw" ? { width: image.width, height: image.height } : encodedSize(image.data);
}

/**
 * Standard deviation of the grey levels of the (up to) 16 x 12 block means of `p` (0-255). Blocks are whole
 * rows and columns of pixels split evenly; a frame smaller than the grid has one block per pixel.
 */
export function blockContrast(p: PixelImage): number {
  const gw = Math.min(16, p.width), gh = Math.min(12, p.height);
  const sums = new Float64Array(gw * gh), counts = new Float64Array(gw * gh);
  const c = p.channels, d = p.data;
  // Column b of the grid spans pixels [start[b], start[b + 1]); each row adds one integer sum per block (for
  // colour, the sum of R + G + B, divided by 3 at the end), not one store per pixel: this runs on every frame.
  const start = new Int32Array(gw + 1);
  for (let b = 0; b <= gw; b++) start[b] = Math.ceil((b * p.width) / gw);
  for (let y = 0; y < p.height; y++) {
    const row = Math.floor((y * gh) / p.height) * gw;
    const line = y * p.width * c;
    for (let b = 0; b < gw; b++) {
      let acc = 0;
      const end = line + start[b + 1] * c;
      if (c === 1) {
        for (let o = line + start[b]; o < end; o++) acc += d[o];
      } else {
        for (let o = line + start[b] * c; o < end; o += c) acc += d[o] + d[o + 1] + d[o + 2];
      }
      sums[row + b] += acc;
      counts[row + b] += start[b + 1] - start[b];
    }
  }
  if (c !== 1) { for (let i = 0; i < sums.length; i++) sums[i] /= 3; }
  let s = 0, s2 = 0;
  const n = gw * gh;
  for (let i = 0; i < n; i++) {
    const m = sums[i] / counts[i];
    s += m;
    s2 += m * m;
  }
  const mean = s / n;
  return Math.sqrt(Math.max(0, s2 / n - mean * mean));
}

/**
 * Why a frame holds nothing to localize on, or null when it does: its arrived size (`arrived`, when known)
 * or its decoded pixels below `minSide`, or its block contrast below `minContrast`.
 */
export function frameContent(
  pixels: PixelImage,
  arrived: { width: number; height: number } | null,
  options: Required<FrameContentOptions>,
): SkipReason | null {
  const w = arrived?.width ?? pixels.width, h = arrived?.height ?? pixels.height;
  if (w < options.minSide || h < options.minSide) return "too-small";
  if (blockContrast(pixels) < options.minContrast) return "uniform";
  return null;
}
