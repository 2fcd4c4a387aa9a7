/**
 * Strict base64 (RFC 4648, standard alphabet, padding optional) for message payloads. Unlike
 * `Buffer.from(s, "base64")`, which skips invalid characters silently, a bad character or a bad length is an
 * error here, so a corrupted image never passes as a shorter one.
 *
 * @example
 * ```ts
 * import { decodeBase64, encodeBase64 } from "./base64.ts";
 * console.assert(encodeBase64(decodeBase64("AAEC")) === "AAEC");
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";

const LOOKUP = new Int16Array(256).fill(-1);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** Thrown by {@link decodeBase64}; callers wrap it in their own error class. */
export class Base64Error extends Error {
  override name = "Base64Error";
}

/**
 * Decode base64 strictly. Accepts the standard alphabet, with or without `=` padding.
 * @throws Base64Error naming the first bad character and its offset, or the bad length.
 */
export function decodeBase64(text: string): Uint8Array {
  // Fast path: the native decoder (strict about the alphabet, but it skips ASCII white space, which the length
  // check below catches); any failure falls through to the slow path, which names the problem.
  if (nativeFromBase64 && text.length % 4 !== 1) {
    let out: Uint8Array | null = null;
    try {
      out = nativeFromBase64(text, { lastChunkHandling: "loose" });
    } catch { /* slow path reports it */ }
    if (out) {
      let end = text.length;
      while (end > 0 && text.charCodeAt(end - 1) === 61 && text.length - end < 2) end--;
      if (out.length === Math.floor((end * 3) / 4)) return out;
    }
  }
  return decodeBase64Strict(text);
}

type FromBase64 = (text: string, options: { lastChunkHandling: "loose" }) => Uint8Array;
const nativeFromBase64: FromBase64 | null =
  typeof (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64 === "function"
    ? (Uint8Array as unknown as { fromBase64: FromBase64 }).fromBase64.bind(Uint8Array)
    : null;

/** Slow path: decodes or throws naming the first problem. */
function decodeBase64Strict(text: string): Uint8Array {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && text.charCodeAt(end - 1) === 61) end--;
  const rem = end % 4;
  if (rem === 1) throw new Base64Error(`base64 text of ${text.length} characters has an impossible length`);
  if (end !== text.length && (end + (4 - rem) % 4) !== text.length) {
    throw new Base64Error(`base64 padding of ${text.length - end} '=' does not match the length`);
  }
  const out = new Uint8Array(Math.floor(end * 3 / 4));
  let o = 0;
  let i = 0;
  const full = end - rem;
  for (; i < full; i += 4) {
    const a = LOOKUP[text.charCodeAt(i) & 0xff] | (text.charCodeAt(i) > 255 ? -1 : 0);
    const b = LOOKUP[text.charCodeAt(i + 1) & 0xff] | (text.charCodeAt(i + 1) > 255 ? -1 : 0);
    const c = LOOKUP[text.charCodeAt(i + 2) & 0xff] | (text.charCodeAt(i + 2) > 255 ? -1 : 0);
    const d = LOOKUP[text.charCodeAt(i + 3) & 0xff] | (text.charCodeAt(i + 3) > 255 ? -1 : 0);
    if ((a | b | c | d) < 0) badChar(text, i);
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  if (rem > 0) {
    const a = value(text, i);
    const b = value(text, i + 1);
    out[o++] = (a << 2) | (b >> 4);
    if (rem === 3) {
      const c = value(text, i + 2);
      out[o++] = ((b & 15) << 4) | (c >> 2);
    }
  }
  return out;
}

function value(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const v = code > 255 ? -1 : LOOKUP[code];
  if (v < 0) badChar(text, i);
  return v;
}

function badChar(text: string, from: number): never {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 255 || LOOKUP[code] < 0) {
      throw new Base64Error(`invalid base64 character ${JSON.stringify(text[i])} at offset ${i}`);
    }
  }
  throw new Base64Error("invalid base64");
}

/** Encode bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
