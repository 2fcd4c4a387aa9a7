/**
 * Decode stage: compressed or raw frame bytes to 8-bit pixels. A frame that cannot be decoded becomes an
 * `ErrorEvent` on its envelope (counted, the stream continues).
 *
 * @module
 */
import { concatMap, of, type OperatorFunction } from "rxjs";
import type { EncodedImage, PixelImage, RawImage } from "../types.ts";
import { decodeFrameImage } from "../image/decode.ts";
import { afterStep, frameError, type FrameWork } from "./frame_work.ts";

/** Decodes one frame image. */
export type FrameDecoder = (
  image: EncodedImage | RawImage,
  options: { channels: 1 | 3; source?: string },
) => PixelImage | Promise<PixelImage>;

/** Options of {@link decodeStage}. */
export interface DecodeStageOptions {
  /** Output channels (the model's input channels). Default 3. */
  channels?: 1 | 3;
  /** Decoder. Default `decodeFrameImage` of `src/image/decode.ts` (sharp for JPEG/PNG/WebP, raw ROS encodings). */
  decode?: FrameDecoder;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
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
  const decode = options.decode ?? decodeFrameImage;
  const now = options.now ?? (() => Date.now() / 1000);
  return concatMap((work: FrameWork) => {
    if (work.error || work.pixels) return of(work);
    const source = work.frame.source ?? `frame ${work.frame.seq}`;
    return afterStep(work, () => {
      const r = decode(work.frame.image, { channels, source });
      if (r instanceof Promise) return r.then((p) => void (work.pixels = p));
      work.pixels = r;
      return undefined;
    }, (err) => void (work.error = frameError(err, work, now())));
  });
}
