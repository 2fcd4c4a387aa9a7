/**
 * rosbridge v2 protocol pieces shared by the rosbridge source, sink and test double: parsing incoming frames
 * (JSON text, CBOR binary), the `png` op payload, outgoing op builders, and `rosbridge://host:port/topic` URLs.
 *
 * What a real rosbridge_suite 0.11.17 sends (see `../shared/fixtures/rosbridge/README.md`):
 * - `compression: "none"`: JSON text `{"op":"publish","topic":..,"msg":{..}}`, `uint8[]` as base64, `/` as `\/`.
 * - `"cbor"`: a binary frame holding the same envelope as CBOR, `uint8[]` as a byte string.
 * - `"cbor-raw"`: binary CBOR `{op:"publish", topic, msg:{secs, nsecs, bytes}}` (`bytes` the serialised message,
 *   `secs/nsecs` the receipt time).
 * - `"png"`: text `{"op":"png","data":<base64 PNG>}`; the PNG's pixel bytes hold the JSON text of the message,
 *   padded with `\n` (the padding may also be NUL).
 * - `fragment_size`: text `{"op":"fragment","id":0,"data":<part of the JSON text>,"num":i,"total":<float>}`.
 *
 * @module
 */
import { BridgeProtocolError, CborError, invalid } from "../errors.ts";
import { decodeCbor } from "./cbor.ts";
import { MAX_CBOR_ITEMS, parseJsonMessage } from "./_message_limits.ts";
import { Base64Error, decodeBase64, encodeBase64 } from "./base64.ts";

/** A parsed rosbridge message: an object with a string `op`. */
export type RosbridgeMessage = Record<string, unknown> & { op: string };

/** Parse a text frame. @throws BridgeProtocolError for invalid JSON or a missing `op`. */
export function parseRosbridgeText(text: string): RosbridgeMessage {
  let value: unknown;
  try {
    value = parseJsonMessage(
      text,
      (m) => new BridgeProtocolError(`Cannot use a rosbridge text frame as ${m}`),
    );
  } catch (err) {
    if (err instanceof BridgeProtocolError) throw err;
    throw new BridgeProtocolError(
      `Cannot parse a rosbridge text frame as it is not valid JSON (${(err as Error).message}): ${
        JSON.stringify(text.slice(0, 60))
      }`,
      { cause: err },
    );
  }
  return requireOp(value, "text");
}

/**
 * Parse a binary (CBOR) frame (at most `MAX_CBOR_ITEMS` data items). @throws CborError for invalid CBOR,
 * BridgeProtocolError for a missing `op`.
 */
export function parseRosbridgeBinary(bytes: Uint8Array): RosbridgeMessage {
  let value: unknown;
  try {
    value = decodeCbor(bytes, { maxItems: MAX_CBOR_ITEMS });
  } catch (err) {
    if (err instanceof CborError) {
      throw new CborError(`Cannot parse a rosbridge binary frame: ${err.message}`, { cause: err });
    }
    throw err;
  }
  return requireOp(value, "binary");
}

function requireOp(value: unknown, kind: string): RosbridgeMessage {
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Map) {
    throw new BridgeProtocolError(
      `Cannot handle a rosbridge ${kind} frame as it must be an object with 'op'`,
    );
  }
  const op = (value as Record<string, unknown>).op;
  if (typeof op !== "string") {
    throw new BridgeProtocolError(`Cannot handle a rosbridge ${kind} frame as 'op' must be a string`);
  }
  return value as RosbridgeMessage;
}

/**
 * Decode the `data` of a `png` op to the JSON text it carries: base64 -> PNG -> pixel bytes (any channel
 * layout, read as bytes) -> UTF-8 with trailing `\n`/NUL padding removed. Uses sharp (libvips).
 * @throws BridgeProtocolError when any step fails.
 */
export async function decodePngPayload(data: unknown, maxBytes = 64 * 1024 * 1024): Promise<string> {
  if (typeof data !== "string") {
    throw new BridgeProtocolError("Cannot decode a png op as 'data' must be base64 text");
  }
  if (data.length > maxBytes) {
    throw new BridgeProtocolError(`Cannot decode a png op larger than ${maxBytes} chars`);
  }
  let png: Uint8Array;
  try {
    png = decodeBase64(data);
  } catch (err) {
    if (err instanceof Base64Error) {
      throw new BridgeProtocolError(`Cannot decode a png op as 'data' is not valid base64: ${err.message}`);
    }
    throw err;
  }
  let pixels: Uint8Array;
  try {
    const { default: sharp } = await import("sharp");
    const meta = await sharp(png).metadata();
    if ((meta.width ?? 0) * (meta.height ?? 0) * (meta.channels ?? 4) > maxBytes) {
      throw new Error(`declared size ${meta.width}x${meta.height} is too large`);
    }
    const buf = await sharp(png).raw().toBuffer();
    pixels = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw new BridgeProtocolError(`Cannot decode a png op as the PNG is invalid: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let end = pixels.length;
  while (end > 0 && (pixels[end - 1] === 0x0a || pixels[end - 1] === 0)) end--;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(pixels.subarray(0, end));
  } catch {
    throw new BridgeProtocolError("Cannot decode a png op as the PNG pixels are not UTF-8 text");
  }
}

/**
 * Encode JSON text as a `png` op the way rosbridge does: bytes padded with `\n` to fill a near-square RGB
 * image, PNG-compressed, base64. (Used by test doubles.)
 */
export async function encodePngPayload(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const pixels = Math.ceil(bytes.length / 3);
  const width = Math.max(1, Math.floor(Math.sqrt(pixels)));
  const height = Math.ceil(pixels / width);
  const buf = new Uint8Array(width * height * 3).fill(0x0a);
  buf.set(bytes);
  const { default: sharp } = await import("sharp");
  const png = await sharp(buf, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return encodeBase64(new Uint8Array(png.buffer, png.byteOffset, png.byteLength));
}

/** Compression modes of a rosbridge subscription. */
export type RosbridgeCompression = "none" | "cbor" | "cbor-raw" | "png";

/** Fields of a `subscribe` op. */
export interface SubscribeOp {
  op: "subscribe";
  id: string;
  topic: string;
  type?: string;
  compression?: RosbridgeCompression;
  throttle_rate?: number;
  queue_length?: number;
  fragment_size?: number;
}

/** A parsed `rosbridge://host:port/topic` (or `ws://` / `wss://`) URL. */
export interface RosbridgeUrl {
  /** WebSocket URL of the server, e.g. `ws://host:9090`. */
  wsUrl: string;
  /** Topic, with its leading `/`, or undefined when the URL has no path. */
  topic?: string;
}

/**
 * Parse `rosbridge://host[:port]/topic/name` (port defaults to 9090; `rosbridges://` means `wss://`), or a plain
 * `ws://host:port/topic` where the path is taken as the topic.
 * @example
 * ```ts
 * import { parseRosbridgeUrl } from "./rosbridge_protocol.ts";
 * const u = parseRosbridgeUrl("rosbridge://robot:9090/camera/image/compressed");
 * console.assert(u.wsUrl === "ws://robot:9090" && u.topic === "/camera/image/compressed");
 * ```
 */
export function parseRosbridgeUrl(url: string): RosbridgeUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid("connect to rosbridge", "url", "a URL like rosbridge://host:9090/topic", url);
  }
  const schemes: Record<string, string> = {
    "rosbridge:": "ws:",
    "rosbridges:": "wss:",
    "ws:": "ws:",
    "wss:": "wss:",
  };
  const scheme = schemes[u.protocol];
  if (!scheme) {
    throw invalid("connect to rosbridge", "url", "a rosbridge://, rosbridges://, ws:// or wss:// URL", url);
  }
  if (!u.hostname) throw invalid("connect to rosbridge", "url", "a URL with a host", url);
  const port = u.port || (u.protocol.startsWith("rosbridge") ? "9090" : "");
  const host = u.hostname.includes(":") && !u.hostname.startsWith("[") ? `[${u.hostname}]` : u.hostname;
  const wsUrl = `${scheme}//${host}${port ? ":" + port : ""}`;
  const path = decodeURIComponent(u.pathname).replace(/\/+$/, "");
  return path ? { wsUrl, topic: path } : { wsUrl };
}
