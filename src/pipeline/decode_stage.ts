/**
 * Decode stage: compressed or raw frame bytes to 8-bit pixels. A frame that cannot be decoded becomes an
 * `ErrorEvent` on its envelope (counted, the stream continues).
 *
 * With `size` (the model's input size: the live pipeline sets it when nothing downstream needs the full image),
 * the default decoder decodes straight to that size (`prepareImage`: JPEG shrink-on-load and resize in one
 * sharp pass), so neither a full-size buffer nor a second resize in the model is paid per frame.
 *
 * Before decoding, the frame's stamp is checked (`checkStamp`: an error with cause `stamp`); after it, the frame's
 * content (`frameContent`: a frame too small or near-uniform is marked `skipped` and its pixels dropped, so
 * that no later stage describes, searches or localizes it). See `frame_checks.ts`.
 *
 * @module
 */
import { concatMap, of, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { EncodedImage, PixelImage, RawImage } from "../types.ts";
import { decodeFrameImage } from "../image/decode.ts";
import { prepareImage } from "../image/prepare.ts";
import { afterStep, frameError, type FrameWork } from "./frame_work.ts";
import {
  arrivedSize,
  checkStamp,
  contentOptions,
  frameContent,
  type FrameContentOptions,
} from "./frame_checks.ts";

/** Decodes one frame image. */
export type FrameDecoder = (
  image: EncodedImage | RawImage,
  options: { channels: 1 | 3; source?: string; size?: { width: number; height: number } },
) => PixelImage | Promise<PixelImage>;

/** Options of {@link decodeStage}. */
export interface DecodeStageOptions {
  /** Output channels (the model's input channels). Default 3. */
  channels?: 1 | 3;
  /** Decoder. Default `decodeFrameImage` of `src/image/decode.ts` (sharp for JPEG/PNG/WebP, raw ROS encodings). */
  decode?: FrameDecoder;
  /**
   * Decode straight to this size (aspect not kept), e.g. the model's input size. Default: full size. A custom
   * `decode` receives it in its options (and may ignore it: the model resizes anyway).
   */
  size?: { width: number; height: number };
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
  /** Content thresholds below which a frame is `skipped` (see `frame_checks.ts`); false: no check. Default on. */
  content?: FrameContentOptions | false;
}

/**
 * The decode stage.
 *
 * @example
 * ```ts ignore
 * frames$.pipe(map(toWork), decodeStage({ channels: 1 }))
 * ```
 */
export function decodeStage(options: DecodeStageOptions = {}): OperatorFunction<FrameWork, FrameWork> {
  const channels = options.channels ?? 3;
  const size = options.size;
  if (size) {
    for (const f of ["width", "height"] as const) {
      if (!Number.isInteger(size[f]) || size[f] < 1) {
        throw invalid("decode frames", `size.${f}`, "a positive integer", size[f]);
      }
    }
  }
  const decode: FrameDecoder = options.decode ??
    (size
      ? (image, o) => prepareImage(image, { width: size.width, height: size.height, channels }, o)
      : decodeFrameImage);
  const now = options.now ?? (() => Date.now() / 1000);
  const content = options.content === false ? null : contentOptions(options.content);
  const decoded = (work: FrameWork, pixels: PixelImage) => {
    const reason = content && frameContent(pixels, arrivedSize(work.frame.image), content);
    if (reason) work.skipped = reason;
    else work.pixels = pixels;
  };
  return concatMap((work: FrameWork) => {
    if (work.error || work.pixels || work.skipped) return of(work);
    const source = work.frame.source ?? `frame ${work.frame.seq}`;
    try {
      checkStamp(work.frame.stamp, source);
    } catch (err) {
      work.error = { ...frameError(err, work, now()), cause: "stamp" };
      return of(work);
    }
    return afterStep(work, () => {
      const r = decode(work.frame.image, size ? { channels, source, size } : { channels, source });
      if (r instanceof Promise) return r.then((p) => decoded(work, p));
      decoded(work, r);
      return undefined;
    }, (err) => void (work.error = frameError(err, work, now())));
  });
}
