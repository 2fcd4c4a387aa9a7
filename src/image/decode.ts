/**
 * Image decoding: encoded bytes (JPEG, PNG, WebP, sniffed) to {@link PixelImage} through sharp, and raw ROS
 * pixel buffers (`rgb8`, `bgr8`, `rgba8`, `bgra8`, `mono8`, `mono16`) to {@link PixelImage} in TypeScript.
 * Every failure is an {@link ImageDecodeError} naming the source and the problem.
 *
 * @module
 */
import sharp from "sharp";
import { ImageDecodeError } from "../errors.ts";
import type { EncodedImage, PixelImage, RawImage } from "../types.ts";
import { RAW_BYTES_PER_PIXEL } from "./raw_encoding.ts";

/** Largest accepted image side, in pixels. */
export const MAX_IMAGE_SIDE = 16384;
/** Largest accepted pixel count (width * height). */
export const MAX_IMAGE_PIXELS = 100_000_000;

let configured = false;
/** Configure sharp once for low-latency single-image work: one libvips thread per image, no cache. */
export function configureSharp(): void {
  if (configured) return;
  configured = true;
  sharp.concurrency(1);
  sharp.cache(false);
}

/** Encoded formats Waymark decodes. */
export type ImageFormat = "jpeg" | "png" | "webp";

/**
 * Identify an image format from its magic bytes; null when unknown.
 *
 * @example
 * ```ts
 * import { sniffFormat } from "./decode.ts";
 * console.assert(sniffFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])) === "jpeg");
 * console.assert(sniffFormat(new Uint8Array([1, 2, 3])) === null);
 * ```
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (
    bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 &&
    bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a
  ) return "png";
  if (
    bytes.length >= 12 && bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[2] === 0x46 && bytes[3] === 0x46 &&
    bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50
  ) return "webp";
  return null;
}

const FORMAT_ALIASES: Record<string, ImageFormat | "auto"> = {
  auto: "auto",
  jpeg: "jpeg",
  jpg: "jpeg",
  png: "png",
  webp: "webp",
};

/**
 * Check that bytes hold a supported format (matching `declared` unless it is `"auto"`); returns the format.
 * Throws {@link ImageDecodeError} for empty input, an unknown format or a declared/actual mismatch.
 */
export function checkEncoded(bytes: Uint8Array, declared = "auto", source = "<image>"): ImageFormat {
  if (bytes.length === 0) {
    throw new ImageDecodeError(`Cannot decode ${source}: the image is empty (0 bytes)`, ctx(source));
  }
  const sniffed = sniffFormat(bytes);
  if (sniffed === null) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ImageDecodeError(
      `Cannot decode ${source}: unknown image format (first bytes ${head}); expected JPEG, PNG or WebP`,
      ctx(source),
    );
  }
  const want = FORMAT_ALIASES[declared.toLowerCase().replace(/^image\//, "").split(";")[0].trim()];
  if (want === undefined) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: unsupported declared format '${declared}'`,
      ctx(source),
    );
  }
  if (want !== "auto" && want !== sniffed) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: declared format '${declared}' but the bytes are ${sniffed.toUpperCase()}`,
      ctx(source),
    );
  }
  return sniffed;
}

function ctx(source: string) {
  return { context: { source } };
}

/** Turn a sharp failure into an ImageDecodeError naming the source. */
export function decodeFailure(source: string, format: string, err: unknown): ImageDecodeError {
  const msg = err instanceof Error ? err.message : String(err);
  const truncated = /premature end|truncat|unexpected end|end of file|incomplete/i.test(msg);
  return new ImageDecodeError(
    `Cannot decode ${source}: ${truncated ? "truncated" : "corrupt"} ${format.toUpperCase()} data (${
      msg.split("\n")[0]
    })`,
    { cause: err, context: { source } },
  );
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** Output channels: 1 (grey) or 3 (RGB). Default: 3. */
  channels?: 1 | 3;
  /** Declared format (`"auto"` sniffs). Default `"auto"`. */
  format?: string;
  /** Name used in error messages. Default `"<image>"`. */
  source?: string;
}

/**
 * Decode JPEG/PNG/WebP bytes to 8-bit pixels at full size.
 *
 * @example
 * ```ts
 * import { decodeImage } from "./decode.ts";
 * await decodeImage(new Uint8Array([1, 2, 3]), { source: "junk.bin" }).catch((e) => console.assert(e.name === "ImageDecodeError"));
 * ```
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<PixelImage> {
  configureSharp();
  const source = options.source ?? "<image>";
  const format = checkEncoded(bytes, options.format ?? "auto", source);
  const channels = options.channels ?? 3;
  try {
    let pipe = sharp(bytes, { failOn: "warning", limitInputPixels: MAX_IMAGE_PIXELS }).rotate().removeAlpha();
    pipe = channels === 1 ? pipe.toColourspace("b-w") : pipe.toColourspace("srgb");
    const { data, info } = await pipe.raw().toBuffer({ resolveWithObject: true });
    return sharpPixels(data, info, channels);
  } catch (err) {
    throw decodeFailure(source, format, err);
  }
}

/** sharp's raw output as a {@link PixelImage} (a view of its buffer, no copy). */
export function sharpPixels(
  data: Uint8Array,
  info: { width: number; height: number },
  channels: 1 | 3,
): PixelImage {
  return {
    width: info.width,
    height: info.height,
    channels,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * Check a raw image's declared geometry against its data; returns bytes per pixel.
 * Throws {@link ImageDecodeError} naming the source and the inconsistency.
 */
export function checkRaw(raw: RawImage, source = "<raw image>"): number {
  const bpp = RAW_BYTES_PER_PIXEL[raw.encoding];
  if (bpp === undefined) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: unsupported raw encoding '${raw.encoding}' (expected one of ${
        Object.keys(RAW_BYTES_PER_PIXEL).join(", ")
      })`,
      ctx(source),
    );
  }
  const { width, height, step } = raw;
  for (const [name, v] of [["width", width], ["height", height], ["step", step]] as const) {
    if (!Number.isInteger(v) || v <= 0) {
      throw new ImageDecodeError(
        `Cannot decode ${source}: ${name} must be a positive integer, got ${v}`,
        ctx(source),
      );
    }
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: declared size ${width}x${height} exceeds the limit (${MAX_IMAGE_SIDE} per side, ${MAX_IMAGE_PIXELS} pixels)`,
      ctx(source),
    );
  }
  if (step < width * bpp) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: step ${step} is smaller than width * ${bpp} bytes (${
        width * bpp
      }) for ${raw.encoding}`,
      ctx(source),
    );
  }
  if (raw.data.length < step * height) {
    throw new ImageDecodeError(
      `Cannot decode ${source}: data holds ${raw.data.length} bytes but step * height = ${step} * ${height} = ${
        step * height
      }`,
      ctx(source),
    );
  }
  return bpp;
}

/**
 * Convert a raw ROS image to tightly packed 8-bit pixels: colour encodings to RGB (3 channels), mono to grey
 * (1 channel; mono16 is shifted so that its brightest sample fits 8 bits). Pass `channels` to force grey or RGB output.
 *
 * @example
 * ```ts
 * import { rawToPixels } from "./decode.ts";
 * const px = rawToPixels({ kind: "raw", width: 1, height: 1, encoding: "bgr8", step: 3, bigEndian: false,
 *   data: new Uint8Array([1, 2, 3]) });
 * console.assert(px.data[0] === 3 && px.data[2] === 1);
 * ```
 */
export function rawToPixels(raw: RawImage, options: { channels?: 1 | 3; source?: string } = {}): PixelImage {
  const source = options.source ?? "<raw image>";
  checkRaw(raw, source);
  const { width, height, step, data, encoding } = raw;
  const natural: 1 | 3 = encoding === "mono8" || encoding === "mono16" ? 1 : 3;
  const channels = options.channels ?? natural;
  const out = new Uint8Array(width * height * channels);
  const swap = encoding === "bgr8" || encoding === "bgra8";
  const bpp = RAW_BYTES_PER_PIXEL[encoding];
  // mono16: shift so that the brightest sample uses the top of the 8-bit range (12-bit sensors keep detail).
  let shift = 8;
  if (encoding === "mono16") {
    let max = 0;
    for (let y = 0; y < height; y++) {
      const row = y * step;
      for (let x = 0; x < width; x++) {
        const p = row + 2 * x;
        const v = raw.bigEndian ? (data[p] << 8) | data[p + 1] : (data[p + 1] << 8) | data[p];
        if (v > max) max = v;
      }
    }
    shift = Math.max(0, 32 - Math.clz32(max) - 8);
  }
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = y * step;
    if (natural === 3) {
      for (let x = 0; x < width; x++) {
        const p = row + x * bpp;
        const r = data[swap ? p + 2 : p], g = data[p + 1], b = data[swap ? p : p + 2];
        if (channels === 3) {
          out[o++] = r;
          out[o++] = g;
          out[o++] = b;
        } else out[o++] = (r * 77 + g * 150 + b * 29 + 128) >> 8;
      }
    } else {
      for (let x = 0; x < width; x++) {
        let v: number;
        if (encoding === "mono8") v = data[row + x];
        else {
          const p = row + 2 * x;
          v = (raw.bigEndian ? (data[p] << 8) | data[p + 1] : (data[p + 1] << 8) | data[p]) >> shift;
        }
        if (channels === 1) out[o++] = v;
        else {
          out[o++] = v;
          out[o++] = v;
          out[o++] = v;
        }
      }
    }
  }
  return { width, height, channels, data: out };
}

/**
 * Decode a frame's image (encoded or raw) to pixels.
 */
export async function decodeFrameImage(
  image: EncodedImage | RawImage,
  options: { channels?: 1 | 3; source?: string } = {},
): Promise<PixelImage> {
  if (image.kind === "raw") return rawToPixels(image, options);
  return await decodeImage(image.data, {
    channels: options.channels,
    format: image.format,
    source: options.source,
  });
}
