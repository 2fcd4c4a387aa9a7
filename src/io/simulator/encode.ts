/**
 * Encoding simulated frames: JPEG or PNG bytes through `sharp`, the one adapter file of the simulator that
 * touches a native library.
 * @module
 */
import sharp from "sharp";
import { invalid } from "../../errors.ts";
import type { PixelImage } from "../../types.ts";

/**
 * Encode an RGB or grey image as JPEG (`quality` 1..100, default 90) or PNG.
 *
 * @example
 * ```ts
 * import { encodeImage } from "./encode.ts";
 * const bytes = await encodeImage({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }, "png");
 * console.assert(bytes[1] === 0x50); // "PNG"
 * ```
 */
export async function encodeImage(
  image: PixelImage,
  format: "jpeg" | "png",
  quality = 90,
): Promise<Uint8Array> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw invalid("encode a simulated frame", "quality", "an integer in [1, 100]", quality);
  }
  const s = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  const buf = format === "jpeg"
    ? await s.jpeg({ quality }).toBuffer()
    : await s.png({ compressionLevel: 3 }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
