/**
 * Strict base64 (RFC 4648, standard alphabet, padding optional) for message payloads, on the platform's
 * decoders. Unlike `Buffer.from(s, "base64")`, which skips invalid characters silently, a bad character or a
 * bad length is an error here, so a corrupted image never passes as a shorter one.
 *
 * `Uint8Array.fromBase64` (TC39, built into V8) checks the alphabet and the padding but skips ASCII white
 * space: an output shorter than the text's length implies catches that. Only on failure is the text scanned
 * again, to name the first problem.
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

/** Thrown by {@link decodeBase64}; callers wrap it in their own error class. */
export class Base64Error extends Error {
  override name = "Base64Error";
}

type FromBase64 = (text: string, options: { lastChunkHandling: "loose" }) => Uint8Array;
const native = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64;
const STRICT = /^[A-Za-z0-9+/]*={0,2}$/;

/** The platform decoder: `Uint8Array.fromBase64`, else node:buffer behind an alphabet check. */
const decode: (text: string) => Uint8Array = native
  ? (text) => native.call(Uint8Array, text, { lastChunkHandling: "loose" })
  : (text) => {
    if (!STRICT.test(text)) throw new Base64Error("invalid base64");
    const b = Buffer.from(text, "base64");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };

/**
 * Decode base64 strictly. Accepts the standard alphabet, with or without `=` padding.
 * @throws Base64Error naming the first bad character and its offset, or the bad length.
 */
export function decodeBase64(text: string): Uint8Array {
  let out: Uint8Array | null = null;
  if (text.length % 4 !== 1) {
    try {
      out = decode(text);
    } catch { /* named below */ }
  }
  if (out) {
    let end = text.length;
    while (end > 0 && text.charCodeAt(end - 1) === 61 && text.length - end < 2) end--;
    if (out.length === Math.floor((end * 3) / 4)) return out;
  }
  throw problem(text);
}

const isAlphabet = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;

/** What is wrong with a text the decoder refused (or shortened). */
function problem(text: string): Base64Error {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 61 && text.length - end < 2) end--;
  for (let i = 0; i < end; i++) {
    if (!isAlphabet(text.charCodeAt(i))) {
      return new Base64Error(`invalid base64 character ${JSON.stringify(text[i])} at offset ${i}`);
    }
  }
  const rem = end % 4;
  if (rem === 1) return new Base64Error(`base64 text of ${text.length} characters has an impossible length`);
  if (end !== text.length && end + ((4 - rem) % 4) !== text.length) {
    return new Base64Error(`base64 padding of ${text.length - end} '=' does not match the length`);
  }
  return new Base64Error("invalid base64 (non-zero bits in the last character)");
}

/** Encode bytes as padded standard base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
