/**
 * Bring any input image to a model's input size in as few steps as possible: encoded bytes are decoded and
 * resized in ONE sharp pipeline (JPEG shrink-on-load), raw and decoded pixels are resized in TypeScript.
 *
 * @module
 */
import sharp from "sharp";
import { ImageDecodeError } from "../errors.ts";
import type { EncodedImage, PixelImage, RawImage } from "../types.ts";
import {
  checkEncoded,
  configureSharp,
  decodeFailure,
  MAX_IMAGE_PIXELS,
  rawToPixels,
  sharpPixels,
} from "./decode.ts";
import { convertChannels, resizePixels } from "./resize.ts";

/** Target size and channels. */
export interface PrepareTarget {
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Any image Waymark accepts. */
export type AnyImage = EncodedImage | RawImage | PixelImage | Uint8Array;

function isPixelImage(x: AnyImage): x is PixelImage {
  return !(x instanceof Uint8Array) && !("kind" in x);
}

/**
 * Decode (when encoded) and resize to exactly `target.width` x `target.height` (aspect not kept), with
 * `target.channels` channels.
 *
 * @example
 * ```ts
 * import { prepareImage } from "./prepare.ts";
 * const px = { width: 8, height: 8, channels: 1 as const, data: new Uint8Array(64).fill(100) };
 * const out = await prepareImage(px, { width: 4, height: 4, channels: 3 });
 * console.assert(out.width === 4 && out.channels === 3 && out.data[0] === 100);
 * ```
 */
export async function prepareImage(
  image: AnyImage,
  target: PrepareTarget,
  options: { source?: string } = {},
): Promise<PixelImage> {
  const source = options.source ?? "<image>";
  let pixels: PixelImage;
  if (image instanceof Uint8Array || (!isPixelImage(image) && image.kind === "encoded")) {
    const bytes = image instanceof Uint8Array ? image : image.data;
    const declared = image instanceof Uint8Array ? "auto" : image.format;
    pixels = await decodeResized(bytes, target, declared, source);
  } else if (!isPixelImage(image)) {
    pixels = resizePixels(rawToPixels(image, { source }), target.width, target.height);
  } else {
    const expected = image.width * image.height * image.channels;
    if (image.data.length < expected) {
      throw new ImageDecodeError(
        `Cannot prepare ${source}: pixel data holds ${image.data.length} bytes, ${image.width}x${image.height}x${image.channels} needs ${expected}`,
        { context: { source } },
      );
    }
    pixels = resizePixels(image, target.width, target.height);
  }
  return convertChannels(pixels, target.channels);
}

async function decodeResized(
  bytes: Uint8Array,
  target: PrepareTarget,
  declared: string,
  source: string,
): Promise<PixelImage> {
  configureSharp();
  const format = checkEncoded(bytes, declared, source);
  try {
    const { data, info } = await sharp(bytes, { failOn: "warning", limitInputPixels: MAX_IMAGE_PIXELS })
      .resize(target.width, target.height, { fit: "fill", kernel: "linear", fastShrinkOnLoad: true })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return sharpPixels(data, info, info.channels === 1 ? 1 : 3);
  } catch (err) {
    throw decodeFailure(source, format, err);
  }
}
