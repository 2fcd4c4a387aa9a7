/**
 * A WebSocket camera client as a `FrameSource`. It accepts, per message:
 * - binary JPEG or PNG bytes (sniffed from their signatures);
 * - binary WMRW raw frames (a 32-byte header + pixels, see `raw_frame.ts`);
 * - a JSON text envelope `{"stamp": s, "frame_id": "cam", "format": "jpeg" | "png" | <raw encoding>,
 *   "data": <base64>}`, raw encodings also giving `width`, `height` and optionally `step` and `is_bigendian`.
 *
 * Anything else is a counted `FrameFormatError` event and the stream continues. The client reconnects after a
 * drop with capped exponential backoff; a 401/403 handshake answer is fatal (errors the stream).
 *
 * @example
 * ```ts ignore
 * import { websocketSource } from "./websocket_source.ts";
 * const src = websocketSource("ws://127.0.0.1:8080/camera", { token: "secret" });
 * src.frames().subscribe((f) => console.log(f.seq, f.image.kind));
 * ```
 *
 * @module
 */
import { FrameFormatError, invalid, requirePositiveInt, requireRange } from "../errors.ts";
import type { EncodedImage, RawImage } from "../types.ts";
import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import { SocketSource } from "./_socket_source.ts";
import type { WsSocket } from "./_ws.ts";
import { decodeRawFrame, isRawFrame } from "./raw_frame.ts";
import { parseJsonMessage } from "./_message_limits.ts";
import { dataBytes, rawImageFromFields, type RosImageLimits } from "./ros_messages.ts";
import { RAW_BYTES_PER_PIXEL } from "../image/raw_encoding.ts";

/** Options of {@link websocketSource}. */
export interface WebSocketSourceOptions {
  /** Bearer token sent as `Authorization: Bearer <token>`. Default none. */
  token?: string;
  /** Extra handshake headers. */
  headers?: Record<string, string>;
  /** Reconnect policy. Default: 250 ms doubling to 10 s, 20% jitter, never give up. */
  backoff?: BackoffOptions;
  /**
   * Ping the server this often and drop (then reconnect) a connection that missed the previous pong: detects
   * half-open connections. 0 disables. Default 5000 ms.
   */
  pingIntervalMs?: number;
  /** Largest accepted message in bytes. Default 64 MiB. */
  maxPayload?: number;
  /** Image size limits. Defaults: 16384 px per side, 256 MiB. */
  limits?: RosImageLimits;
}

const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The container a byte signature shows, or null. */
export function sniffContainer(bytes: Uint8Array): "jpeg" | "png" | null {
  if (bytes.length >= 3 && JPEG.every((b, i) => bytes[i] === b)) return "jpeg";
  if (bytes.length >= 8 && PNG.every((b, i) => bytes[i] === b)) return "png";
  return null;
}

/** A WebSocket camera as a frame source; see the module doc. */
export class WebSocketSource extends SocketSource {
  private readonly limits: RosImageLimits;

  constructor(url: string, options: WebSocketSourceOptions = {}) {
    const action = "connect to a WebSocket camera";
    if (!/^wss?:\/\/[^/]/.test(url)) throw invalid(action, "url", "a ws:// or wss:// URL", url);
    const headers = { ...(options.headers ?? {}) };
    if (options.token !== undefined) {
      if (typeof options.token !== "string" || !options.token) {
        throw invalid(action, "token", "a non-empty string", options.token);
      }
      headers.Authorization = `Bearer ${options.token}`;
    }
    super(url, url, {
      backoff: resolveBackoff(options.backoff, action),
      headers,
      maxPayload: requirePositiveInt(action, "maxPayload", options.maxPayload ?? 64 * 1024 * 1024),
      pingIntervalMs: requireRange(action, "pingIntervalMs", options.pingIntervalMs ?? 5000, 0, 3_600_000),
      maxPendingAsync: 2,
    });
    this.limits = options.limits ?? {};
  }

  protected onOpen(_ws: WsSocket): void {}

  protected onMessage(data: Uint8Array | string): void {
    if (typeof data === "string") return this.onEnvelope(data);
    if (isRawFrame(data)) {
      const f = decodeRawFrame(data);
      this.emitFrame({ stamp: f.stamp, frameId: f.frameId, image: f.image });
      return;
    }
    const format = sniffContainer(data);
    if (!format) {
      throw new FrameFormatError(
        `Cannot use a binary message of ${data.length} bytes as it is neither JPEG, PNG nor WMRW (starts with ${
          [...data.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ")
        })`,
      );
    }
    this.emitFrame({ stamp: null, frameId: "", image: { kind: "encoded", format, data } });
  }

  private onEnvelope(text: string): void {
    this.emitFrame(decodeJsonEnvelope(text, this.limits));
  }
}

/** A decoded JSON frame envelope (see the module doc). */
export interface JsonEnvelope {
  stamp: number | null;
  frameId: string;
  image: EncodedImage | RawImage;
}

/**
 * Decode a JSON text envelope `{stamp, frame_id, format, data, ...}`.
 * @throws FrameFormatError naming the bad field.
 */
export function decodeJsonEnvelope(text: string, limits: RosImageLimits = {}): JsonEnvelope {
  let env: unknown;
  try {
    env = parseJsonMessage(text, (m) => new FrameFormatError(`Cannot use a text message as ${m}`));
  } catch (err) {
    if (err instanceof FrameFormatError) throw err;
    throw new FrameFormatError(
      `Cannot parse a text message as it is not valid JSON: ${(err as Error).message}`,
    );
  }
  if (env === null || typeof env !== "object" || Array.isArray(env)) {
    throw new FrameFormatError(
      "Cannot use a JSON message as it must be an object {stamp, frame_id, format, data}",
    );
  }
  const e = env as Record<string, unknown>;
  const what = "a JSON frame envelope";
  if (e.stamp !== undefined && (typeof e.stamp !== "number" || !Number.isFinite(e.stamp))) {
    throw new FrameFormatError(
      `Cannot use ${what} as 'stamp' must be seconds: current value is ${e.stamp}`,
    );
  }
  if (e.frame_id !== undefined && typeof e.frame_id !== "string") {
    throw new FrameFormatError(`Cannot use ${what} as 'frame_id' must be a string`);
  }
  const format = typeof e.format === "string" ? e.format.toLowerCase() : "";
  let data: Uint8Array;
  try {
    data = dataBytes(e.data, what, limits);
  } catch (err) {
    throw new FrameFormatError((err as Error).message, { cause: err });
  }
  let image: EncodedImage | RawImage;
  if (format === "jpeg" || format === "jpg" || format === "png" || format === "auto") {
    const sniffed = sniffContainer(data);
    const declared = format === "jpg" ? "jpeg" : format;
    if (declared !== "auto" && sniffed !== declared) {
      throw new FrameFormatError(
        `Cannot use ${what} as 'format' says ${declared} but the data ${
          sniffed ? `is ${sniffed}` : "has no image signature"
        }`,
      );
    }
    image = { kind: "encoded", format: sniffed ?? "auto", data };
  } else if (format in RAW_BYTES_PER_PIXEL) {
    const bpp = RAW_BYTES_PER_PIXEL[format as keyof typeof RAW_BYTES_PER_PIXEL];
    image = rawImageFromFields({
      width: e.width,
      height: e.height,
      encoding: format,
      step: e.step ?? (typeof e.width === "number" ? e.width * bpp : undefined),
      isBigEndian: e.is_bigendian === true || e.is_bigendian === 1,
      data,
    }, limits);
  } else {
    throw new FrameFormatError(
      `Cannot use ${what} as 'format' must be jpeg, png, auto or one of ${
        Object.keys(RAW_BYTES_PER_PIXEL).join(", ")
      }: current value is ${JSON.stringify(e.format)}`,
    );
  }
  return {
    stamp: (e.stamp as number | undefined) ?? null,
    frameId: (e.frame_id as string) ?? "",
    image,
  };
}

/**
 * Create a WebSocket camera source.
 * @throws ValidationError for invalid options.
 */
export function websocketSource(url: string, options: WebSocketSourceOptions = {}): WebSocketSource {
  return new WebSocketSource(url, options);
}
