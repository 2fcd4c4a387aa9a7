/**
 * `sensor_msgs/CompressedImage` and `sensor_msgs/Image` as rosbridge delivers them, to Waymark images.
 *
 * Accepts the message object of a JSON `publish` (`data` as base64 text, `/` possibly escaped as `\/` — JSON
 * parsing already undoes that), of a CBOR `publish` (`data` a byte string), a plain number array, or the serialised
 * bytes of `compression: "cbor-raw"` (ROS 1 or ROS 2 CDR, see `ros_serialization.ts`). ROS 1 and ROS 2 type names
 * (`sensor_msgs/Image`, `sensor_msgs/msg/Image`) and stamps (`{secs, nsecs}`, `{sec, nanosec}`) are both accepted.
 *
 * Raw images keep their exact bytes (no conversion): the encoding must be one of rgb8, bgr8, rgba8, bgra8, mono8,
 * mono16, `step` at least `width * bytesPerPixel`, and `step * height` equal to the data length.
 *
 * @example
 * ```ts
 * import { decodeRosImageMessage } from "./ros_messages.ts";
 * const out = decodeRosImageMessage({
 *   header: { stamp: { secs: 10, nsecs: 500000000 }, frame_id: "cam" },
 *   format: "jpeg",
 *   data: "/9j/",
 * }, "sensor_msgs/CompressedImage");
 * console.assert(out.stamp === 10.5 && out.time?.nanosec === 500000000 && out.image.kind === "encoded");
 * ```
 *
 * @module
 */
import { BridgeProtocolError, FrameFormatError } from "../errors.ts";
import type { EncodedImage, ExactTime, RawEncoding, RawImage } from "../types.ts";
import { RAW_BYTES_PER_PIXEL } from "../image/raw_encoding.ts";
import { Base64Error, decodeBase64 } from "./base64.ts";
import { MAX_JSON_BYTE_ARRAY } from "./_message_limits.ts";
import { deserializeRosImage, type RosImageFields, type RosWireFormat } from "./ros_serialization.ts";
import { normaliseTime, secondsOf, timeOfStamp } from "./ros_time.ts";

/** Limits that protect against absurd declared sizes. */
export interface RosImageLimits {
  /** Largest accepted width or height in pixels. Default 16384. */
  maxDimension?: number;
  /** Largest accepted data length in bytes. Default 256 MiB. */
  maxBytes?: number;
}

/** An image message after decoding. */
export interface DecodedRosImage {
  /** The image bytes (compressed container or raw pixels, unconverted). */
  image: EncodedImage | RawImage;
  /** `header.stamp` in seconds (derived from `time`), or null when the message has none or it is zero (unset). */
  stamp: number | null;
  /** `header.stamp` exactly, or null when the message has none or it is zero. */
  time: ExactTime | null;
  /** `header.frame_id`. */
  frameId: string;
  /** ROS 1 `header.seq` when present. */
  rosSeq?: number;
}

/** `"compressed"` / `"raw"` for a ROS 1 or ROS 2 image type name, undefined for anything else. */
export function imageKindOfType(type: string | undefined): "compressed" | "raw" | undefined {
  if (!type) return undefined;
  const m = /^sensor_msgs\/(?:msg\/)?(CompressedImage|Image)$/.exec(type);
  if (!m) return undefined;
  return m[1] === "Image" ? "raw" : "compressed";
}

/** Normalise a CompressedImage `format` ("jpeg", "rgb8; jpeg compressed bgr8", "png"...) to a container name. */
export function containerOfFormat(format: string): string {
  const f = format.toLowerCase();
  if (f.includes("jpeg") || f.includes("jpg")) return "jpeg";
  if (f.includes("png")) return "png";
  return "auto";
}

/** Stamp in seconds from `{secs, nsecs}` or `{sec, nanosec}`; null when absent or zero. See `timeOfStamp`. */
export function stampSeconds(stamp: unknown): number | null {
  const t = timeOfStamp(stamp);
  return t === null ? null : secondsOf(t);
}

function field(msg: Record<string, unknown>, name: string, what: string): unknown {
  if (!(name in msg)) {
    throw new BridgeProtocolError(`Cannot decode ${what} as the field '${name}' is missing`);
  }
  return msg[name];
}

/** The `data` field as bytes: base64 text, byte string, or array of 0..255 (at most `MAX_JSON_BYTE_ARRAY`). */
export function dataBytes(data: unknown, what: string, limits: RosImageLimits = {}): Uint8Array {
  const maxBytes = limits.maxBytes ?? 256 * 1024 * 1024;
  if (data instanceof Uint8Array) return data;
  if (data instanceof Uint8ClampedArray || data instanceof Int8Array) {
    // CBOR typed-array tags 68 / 72 for a uint8[] field: same bytes.
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  if (typeof data === "string") {
    if (data.length > Math.ceil(maxBytes / 3) * 4 + 4) {
      throw new FrameFormatError(`Cannot decode ${what} as 'data' is larger than ${maxBytes} bytes`);
    }
    try {
      return decodeBase64(data);
    } catch (err) {
      if (err instanceof Base64Error) {
        throw new BridgeProtocolError(`Cannot decode ${what} as 'data' is not valid base64: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }
  if (Array.isArray(data)) {
    if (data.length > Math.min(maxBytes, MAX_JSON_BYTE_ARRAY)) {
      throw new FrameFormatError(
        `Cannot decode ${what} as 'data' given as an array of ${data.length} numbers is larger than ` +
          `${MAX_JSON_BYTE_ARRAY}: send it as base64 text or a byte string`,
      );
    }
    const out = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) {
        throw new BridgeProtocolError(
          `Cannot decode ${what} as 'data[${i}]' must be a byte: current value is ${v}`,
        );
      }
      out[i] = v;
    }
    return out;
  }
  throw new BridgeProtocolError(
    `Cannot decode ${what} as 'data' must be base64 text, a byte string or a byte array: current value is a ${
      data === null ? "null" : typeof data
    }`,
  );
}

/**
 * Build a `RawImage` from sensor_msgs/Image fields, validating without converting.
 * @throws FrameFormatError for an unknown encoding, absurd sizes, or data length != step * height.
 */
export function rawImageFromFields(
  f: {
    width: unknown;
    height: unknown;
    encoding: unknown;
    step: unknown;
    isBigEndian: boolean;
    data: Uint8Array;
  },
  limits: RosImageLimits = {},
): RawImage {
  const maxDim = limits.maxDimension ?? 16384;
  const what = "sensor_msgs/Image";
  const encoding = f.encoding;
  if (typeof encoding !== "string" || !(encoding in RAW_BYTES_PER_PIXEL)) {
    throw new FrameFormatError(
      `Cannot decode ${what} as 'encoding' must be one of ${Object.keys(RAW_BYTES_PER_PIXEL).join(", ")}: ` +
        `current value is ${JSON.stringify(encoding)}`,
    );
  }
  for (const [name, v] of [["width", f.width], ["height", f.height]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > maxDim) {
      throw new FrameFormatError(
        `Cannot decode ${what} as '${name}' must be an integer in [1, ${maxDim}]: current value is ${v}`,
      );
    }
  }
  const width = f.width as number;
  const height = f.height as number;
  const bpp = RAW_BYTES_PER_PIXEL[encoding as RawEncoding];
  const step = f.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < width * bpp) {
    throw new FrameFormatError(
      `Cannot decode ${what} as 'step' must be an integer >= width * ${bpp} = ${
        width * bpp
      }: current value is ${step}`,
    );
  }
  if (step * height !== f.data.length) {
    throw new FrameFormatError(
      `Cannot decode ${what} as step * height = ${step} * ${height} = ${
        step * height
      } must equal the data length: ` +
        `current value is ${f.data.length}`,
    );
  }
  return {
    kind: "raw",
    width,
    height,
    encoding: encoding as RawEncoding,
    step,
    bigEndian: f.isBigEndian,
    data: f.data,
  };
}

/**
 * Decode the `msg` object of a rosbridge `publish` (JSON or CBOR).
 * @param type the subscription's type name (ROS 1 or ROS 2 form); undefined guesses from the fields.
 * @throws BridgeProtocolError / FrameFormatError naming the problem.
 */
export function decodeRosImageMessage(
  msg: unknown,
  type?: string,
  limits: RosImageLimits = {},
): DecodedRosImage {
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
    throw new BridgeProtocolError(`Cannot decode an image message as 'msg' must be an object`);
  }
  const m = msg as Record<string, unknown>;
  const kind = imageKindOfType(type) ?? ("encoding" in m ? "raw" : "compressed");
  const what = kind === "raw" ? "sensor_msgs/Image" : "sensor_msgs/CompressedImage";
  const header = (m.header ?? {}) as Record<string, unknown>;
  if (typeof header !== "object" || header === null) {
    throw new BridgeProtocolError(`Cannot decode ${what} as 'header' must be an object`);
  }
  const time = timeOfStamp(header.stamp);
  const stamp = time === null ? null : secondsOf(time);
  const frameId = typeof header.frame_id === "string" ? header.frame_id : "";
  const rosSeq = typeof header.seq === "number" ? header.seq : undefined;
  const data = dataBytes(field(m, "data", what), what, limits);
  let image: EncodedImage | RawImage;
  if (kind === "compressed") {
    const format = field(m, "format", what);
    if (typeof format !== "string") {
      throw new BridgeProtocolError(`Cannot decode ${what} as 'format' must be a string`);
    }
    image = { kind: "encoded", format: containerOfFormat(format), data };
  } else {
    const big = m.is_bigendian;
    image = rawImageFromFields({
      width: field(m, "width", what),
      height: field(m, "height", what),
      encoding: field(m, "encoding", what),
      step: field(m, "step", what),
      isBigEndian: big === true || big === 1,
      data,
    }, limits);
  }
  const out: DecodedRosImage = { image, stamp, time, frameId };
  if (rosSeq !== undefined) out.rosSeq = rosSeq;
  return out;
}

/** Convert deserialised fields (cbor-raw) to a decoded image. */
export function decodeRosImageFields(f: RosImageFields, limits: RosImageLimits = {}): DecodedRosImage {
  const time = f.header.sec === 0 && f.header.nanosec === 0
    ? null
    : normaliseTime(f.header.sec, f.header.nanosec);
  const stamp = time === null ? null : secondsOf(time);
  const image: EncodedImage | RawImage = f.type === "compressed"
    ? { kind: "encoded", format: containerOfFormat(f.format), data: f.data }
    : rawImageFromFields(f, limits);
  const out: DecodedRosImage = { image, stamp, time, frameId: f.header.frameId };
  if (f.header.seq !== undefined) out.rosSeq = f.header.seq;
  return out;
}

/**
 * Decode the serialised bytes of a `cbor-raw` publish (`msg.bytes`).
 * @param type the subscription's type name; ROS 2 names (`/msg/`) select CDR, ROS 1 names ROS 1 serialisation.
 */
export function decodeRosImageBytes(
  bytes: Uint8Array,
  type: string | undefined,
  limits: RosImageLimits = {},
  wire?: RosWireFormat,
): DecodedRosImage {
  const kind = imageKindOfType(type) ?? "compressed";
  const format = wire ?? (type?.includes("/msg/") ? "cdr" : type ? "ros1" : undefined);
  return decodeRosImageFields(deserializeRosImage(bytes, kind, format), limits);
}
