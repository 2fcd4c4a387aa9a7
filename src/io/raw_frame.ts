/**
 * The WMRW raw-frame format: a small header followed by uncompressed pixels, for WebSocket cameras that send
 * raw images as binary messages. All fields little-endian.
 *
 * | offset | size | field                                                                            |
 * |-------:|-----:|----------------------------------------------------------------------------------|
 * | 0      | 4    | magic `"WMRW"` (57 4D 52 57)                                                      |
 * | 4      | 1    | version = 1                                                                       |
 * | 5      | 1    | encoding: 0 rgb8, 1 bgr8, 2 rgba8, 3 bgra8, 4 mono8, 5 mono16 LE, 6 mono16 BE     |
 * | 6      | 2    | `L`, length of frame_id in bytes (u16)                                            |
 * | 8      | 4    | width in pixels (u32, 1..16384)                                                   |
 * | 12     | 4    | height in pixels (u32, 1..16384)                                                  |
 * | 16     | 4    | step, bytes per row (u32; 0 means width * bytes per pixel)                        |
 * | 20     | 4    | seq, the sender's frame counter (u32, informational)                              |
 * | 24     | 8    | stamp in seconds (f64; NaN means "use the receive time")                          |
 * | 32     | L    | frame_id, UTF-8                                                                   |
 * | 32+L   | step * height | pixels, rows top to bottom                                               |
 *
 * The message length must be exactly `32 + L + step * height`.
 *
 * @example
 * ```ts
 * import { decodeRawFrame, encodeRawFrame } from "./raw_frame.ts";
 * const bytes = encodeRawFrame({ width: 2, height: 1, encoding: "mono8", data: new Uint8Array([1, 2]), stamp: 5 });
 * const f = decodeRawFrame(bytes);
 * console.assert(f.image.width === 2 && f.stamp === 5);
 * ```
 *
 * @module
 */
import { FrameFormatError } from "../errors.ts";
import type { RawEncoding, RawImage } from "../types.ts";
import { RAW_BYTES_PER_PIXEL } from "../image/raw_encoding.ts";

/** The 4 magic bytes "WMRW". */
export const RAW_FRAME_MAGIC: Uint8Array = new Uint8Array([0x57, 0x4d, 0x52, 0x57]);
/** Size of the fixed header. */
export const RAW_FRAME_HEADER_BYTES = 32;
const VERSION = 1;
const CODES: { encoding: RawEncoding; bigEndian: boolean }[] = [
  { encoding: "rgb8", bigEndian: false },
  { encoding: "bgr8", bigEndian: false },
  { encoding: "rgba8", bigEndian: false },
  { encoding: "bgra8", bigEndian: false },
  { encoding: "mono8", bigEndian: false },
  { encoding: "mono16", bigEndian: false },
  { encoding: "mono16", bigEndian: true },
];
const MAX_DIM = 16384;

/** A decoded WMRW message. */
export interface RawFrame {
  /** The pixels (a view into the message) and their layout. */
  image: RawImage;
  /** Seconds, or null when the sender left it NaN. */
  stamp: number | null;
  /** The sender's frame counter. */
  seq: number;
  /** The sender's frame id ("" when none). */
  frameId: string;
}

/** True when bytes start with the WMRW magic. */
export function isRawFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x57 && bytes[1] === 0x4d && bytes[2] === 0x52 &&
    bytes[3] === 0x57;
}

/**
 * Decode a WMRW message; pixels are a zero-copy view.
 * @throws FrameFormatError naming the bad field.
 */
export function decodeRawFrame(bytes: Uint8Array): RawFrame {
  const fail = (m: string): never => {
    throw new FrameFormatError(`Cannot decode a WMRW raw frame of ${bytes.length} bytes as ${m}`);
  };
  if (!isRawFrame(bytes)) fail('it does not start with the magic "WMRW"');
  if (bytes.length < RAW_FRAME_HEADER_BYTES) fail(`the header needs ${RAW_FRAME_HEADER_BYTES} bytes`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[4];
  if (version !== VERSION) fail(`'version' must be ${VERSION}: current value is ${version}`);
  const code = CODES[bytes[5]];
  if (!code) fail(`'encoding' must be a code in [0, ${CODES.length - 1}]: current value is ${bytes[5]}`);
  const idLength = dv.getUint16(6, true);
  const width = dv.getUint32(8, true);
  const height = dv.getUint32(12, true);
  if (width < 1 || width > MAX_DIM) fail(`'width' must be in [1, ${MAX_DIM}]: current value is ${width}`);
  if (height < 1 || height > MAX_DIM) fail(`'height' must be in [1, ${MAX_DIM}]: current value is ${height}`);
  const bpp = RAW_BYTES_PER_PIXEL[code.encoding];
  const step = dv.getUint32(16, true) || width * bpp;
  if (step < width * bpp) fail(`'step' must be >= width * ${bpp} = ${width * bpp}: current value is ${step}`);
  const seq = dv.getUint32(20, true);
  const stamp = dv.getFloat64(24, true);
  const start = RAW_FRAME_HEADER_BYTES + idLength;
  const expected = start + step * height;
  if (bytes.length !== expected) {
    fail(`32 + frame_id ${idLength} + step * height (${step} * ${height}) = ${expected} bytes were expected`);
  }
  let frameId: string;
  try {
    frameId = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(RAW_FRAME_HEADER_BYTES, start));
  } catch {
    return fail("'frame_id' is not valid UTF-8");
  }
  return {
    image: {
      kind: "raw",
      width,
      height,
      encoding: code.encoding,
      step,
      bigEndian: code.bigEndian,
      data: bytes.subarray(start, expected),
    },
    stamp: Number.isFinite(stamp) ? stamp : null,
    seq,
    frameId,
  };
}

/** Fields of {@link encodeRawFrame}. */
export interface RawFrameInput {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** Pixel encoding. */
  encoding: RawEncoding;
  /** `step * height` bytes. */
  data: Uint8Array;
  /** Default width * bytes per pixel. */
  step?: number;
  /** mono16 only. Default false. */
  bigEndian?: boolean;
  /** Default NaN (receiver uses its clock). */
  stamp?: number;
  /** Sender's frame counter. Default 0. */
  seq?: number;
  /** Frame id. Default "". */
  frameId?: string;
}

/** Encode a WMRW message. @throws FrameFormatError when the fields are inconsistent. */
export function encodeRawFrame(f: RawFrameInput): Uint8Array {
  const bpp = RAW_BYTES_PER_PIXEL[f.encoding];
  const step = f.step ?? f.width * bpp;
  if (f.data.length !== step * f.height) {
    throw new FrameFormatError(
      `Cannot encode a WMRW raw frame as the data length ${f.data.length} must equal step * height = ${
        step * f.height
      }`,
    );
  }
  const code = CODES.findIndex((c) =>
    c.encoding === f.encoding && c.bigEndian === (f.encoding === "mono16" && !!f.bigEndian)
  );
  const id = new TextEncoder().encode(f.frameId ?? "");
  const out = new Uint8Array(RAW_FRAME_HEADER_BYTES + id.length + f.data.length);
  const dv = new DataView(out.buffer);
  out.set(RAW_FRAME_MAGIC, 0);
  out[4] = VERSION;
  out[5] = code;
  dv.setUint16(6, id.length, true);
  dv.setUint32(8, f.width, true);
  dv.setUint32(12, f.height, true);
  dv.setUint32(16, step, true);
  dv.setUint32(20, (f.seq ?? 0) >>> 0, true);
  dv.setFloat64(24, f.stamp ?? NaN, true);
  out.set(id, RAW_FRAME_HEADER_BYTES);
  out.set(f.data, RAW_FRAME_HEADER_BYTES + id.length);
  return out;
}
