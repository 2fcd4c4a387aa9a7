/**
 * CBOR (RFC 8949) decoder and encoder, as rosbridge uses it (`compression: "cbor"` / `"cbor-raw"`).
 *
 * Decoding covers every major type: unsigned/negative integers up to 64 bits (numbers when safe, otherwise
 * `bigint`), byte and text strings (definite and indefinite length), arrays and maps (definite and indefinite),
 * tags (bignums 2/3 become `bigint`, the RFC 8746 typed-array tags 64-87 become typed arrays, others a
 * {@link CborTag}), half/single/double floats and simple values. Maps with only string or number keys become plain
 * objects (number keys stringified), other maps a `Map`.
 *
 * Untrusted input is safe: malformed or truncated input throws `CborError`; a declared length larger than the
 * bytes that remain is rejected before anything is allocated; nesting depth is limited.
 *
 * Byte strings are returned as zero-copy views (`subarray`) of the input.
 *
 * @example
 * ```ts
 * import { decodeCbor, encodeCbor } from "./cbor.ts";
 * const bytes = encodeCbor({ op: "publish", msg: { data: new Uint8Array([1, 2]) } });
 * const value = decodeCbor(bytes) as { op: string };
 * console.assert(value.op === "publish");
 * ```
 *
 * @module
 */
import { CborError } from "../errors.ts";

/** A tagged value whose tag this decoder does not interpret. */
export class CborTag {
  constructor(readonly tag: number | bigint, readonly value: unknown) {}
}

/** A simple value other than false/true/null/undefined. */
export class CborSimple {
  constructor(readonly value: number) {}
}

/** Options of {@link decodeCbor}. */
export interface CborDecodeOptions {
  /** Maximum nesting of arrays, maps and tags. Default 64. */
  maxDepth?: number;
  /** Maximum length of one string or container (bytes or items). Default 256 MiB worth. */
  maxLength?: number;
  /**
   * Maximum number of data items in the whole input (every number, string, container and tag counts one), so
   * that the decoded value's memory stays in proportion to a small input: an array of 1-byte integers costs
   * far more as JavaScript values than as CBOR. Default 1,048,576.
   */
  maxItems?: number;
  /** Accept bytes after the first data item (they are ignored). Default false. */
  allowTrailing?: boolean;
}

const BREAK = Symbol("break");
const utf8 = new TextDecoder("utf-8", { fatal: true });
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

class Reader {
  pos = 0;
  items = 0;
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
    readonly maxLength: number,
    readonly maxItems: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(what: string): never {
    throw new CborError(`Cannot decode CBOR at byte ${this.pos} of ${this.bytes.length}: ${what}`, {
      context: { offset: this.pos },
    });
  }

  need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail(`truncated input (need ${n} more bytes)`);
  }

  /** Read a fixed-size big-endian field of `size` bytes at the current position with `read`, and step over it. */
  fixed<T>(size: number, read: (view: DataView, at: number) => T): T {
    this.need(size);
    const v = read(this.view, this.pos);
    this.pos += size;
    return v;
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  /** The argument of an initial byte: a number, a bigint (> 2^53) or -1 for indefinite length. */
  argument(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        return this.u8();
      case 25:
        return this.fixed(2, (view, at) => view.getUint16(at));
      case 26:
        return this.fixed(4, (view, at) => view.getUint32(at));
      case 27: {
        const v = this.fixed(8, (view, at) => view.getBigUint64(at));
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        return -1;
      default:
        return this.fail(`reserved additional information ${info}`);
    }
  }

  /** A length argument checked against the remaining bytes (each unit needs at least `minBytes`). */
  length(info: number, minBytes: number, what: string): number {
    const n = this.argument(info);
    if (typeof n === "bigint") return this.fail(`${what} length ${n} is absurd`);
    if (n > this.maxLength) this.fail(`${what} length ${n} exceeds the limit ${this.maxLength}`);
    if (n * minBytes > this.bytes.length - this.pos) {
      this.fail(
        `${what} declares ${n} ${minBytes === 1 ? "bytes/items" : "entries"} but only ${
          this.bytes.length - this.pos
        } bytes remain`,
      );
    }
    return n;
  }

  /** Fail before allocating a container whose `n` items would pass the item limit. */
  room(n: number): void {
    if (this.items + n > this.maxItems) {
      this.fail(`a container of ${n} items passes the limit of ${this.maxItems} data items`);
    }
  }

  item(depth: number): unknown {
    if (++this.items > this.maxItems) this.fail(`more than ${this.maxItems} data items (the limit)`);
    const initial = this.u8();
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0: {
        const v = this.argument(info);
        if (v === -1) this.fail("indefinite length is invalid for an unsigned integer");
        return v;
      }
      case 1: {
        const v = this.argument(info);
        if (v === -1) this.fail("indefinite length is invalid for a negative integer");
        if (typeof v === "bigint") return -1n - v;
        return -1 - v;
      }
      case 2:
      case 3: {
        const bytes = info === 31 ? this.indefiniteString(major) : this.definiteString(info, major);
        if (major === 2) return bytes;
        if (bytes.length <= 64) {
          // Short ASCII (keys, topic names): skip the TextDecoder call, which dominates small maps.
          let ascii = true;
          for (let i = 0; i < bytes.length; i++) {
            if (bytes[i] > 0x7f) {
              ascii = false;
              break;
            }
          }
          if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
        }
        try {
          return utf8.decode(bytes);
        } catch {
          return this.fail("text string is not valid UTF-8");
        }
      }
      case 4:
        return this.array(info, depth);
      case 5:
        return this.map(info, depth);
      case 6:
        return this.tag(info, depth);
      default:
        return this.simple(info);
    }
  }

  definiteString(info: number, major: number): Uint8Array {
    const n = this.length(info, 1, major === 2 ? "byte string" : "text string");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  indefiniteString(major: number): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const initial = this.u8();
      if (initial === 0xff) break;
      if (initial >> 5 !== major || (initial & 0x1f) === 31) {
        this.fail("an indefinite-length string chunk must be a definite string of the same type");
      }
      const chunk = this.definiteString(initial & 0x1f, major);
      total += chunk.length;
      if (total > this.maxLength) this.fail(`string length exceeds the limit ${this.maxLength}`);
      chunks.push(chunk);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  enter(depth: number): number {
    if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    return depth + 1;
  }

  array(info: number, depth: number): unknown[] {
    const d = this.enter(depth);
    if (info === 31) {
      const out: unknown[] = [];
      for (;;) {
        const v = this.itemOrBreak(d);
        if (v === BREAK) return out;
        if (out.length >= this.maxLength) this.fail(`array length exceeds the limit ${this.maxLength}`);
        out.push(v);
      }
    }
    const n = this.length(info, 1, "array");
    this.room(n);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.notBreak(this.item(d));
    return out;
  }

  map(info: number, depth: number): Record<string, unknown> | Map<unknown, unknown> {
    const d = this.enter(depth);
    const entries: [unknown, unknown][] = [];
    if (info === 31) {
      for (;;) {
        const k = this.itemOrBreak(d);
        if (k === BREAK) break;
        if (entries.length >= this.maxLength) this.fail(`map length exceeds the limit ${this.maxLength}`);
        entries.push([k, this.notBreak(this.item(d))]);
      }
    } else {
      const n = this.length(info, 2, "map");
      this.room(2 * n);
      for (let i = 0; i < n; i++) {
        const k = this.notBreak(this.item(d));
        entries.push([k, this.notBreak(this.item(d))]);
      }
    }
    if (entries.every(([k]) => typeof k === "string" || typeof k === "number")) {
      const obj: Record<string, unknown> = {};
      for (const [k, v] of entries) {
        const key = String(k);
        if (key === "__proto__") {
          Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        } else obj[key] = v;
      }
      return obj;
    }
    return new Map(entries);
  }

  tag(info: number, depth: number): unknown {
    const tag = this.argument(info);
    if (tag === -1) this.fail("indefinite length is invalid for a tag");
    const d = this.enter(depth);
    const value = this.notBreak(this.item(d));
    if (tag === 2 || tag === 3) {
      if (!(value instanceof Uint8Array)) this.fail(`bignum tag ${tag} must wrap a byte string`);
      let n = 0n;
      for (const b of value) n = (n << 8n) | BigInt(b);
      return tag === 2 ? n : -1n - n;
    }
    if (typeof tag === "number" && tag >= 64 && tag <= 87 && tag !== 76) {
      if (!(value instanceof Uint8Array)) this.fail(`typed-array tag ${tag} must wrap a byte string`);
      return typedArrayFromTag(tag, value, (m) => this.fail(m));
    }
    return new CborTag(tag, value);
  }

  simple(info: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24: {
        const v = this.u8();
        if (v < 32) this.fail(`simple value ${v} must use the one-byte form`);
        return new CborSimple(v);
      }
      case 25:
        return this.fixed(2, (view, at) => halfToFloat(view.getUint16(at)));
      case 26:
        return this.fixed(4, (view, at) => view.getFloat32(at));
      case 27:
        return this.fixed(8, (view, at) => view.getFloat64(at));
      case 31:
        return BREAK;
      default:
        if (info < 20) return new CborSimple(info);
        return this.fail(`reserved additional information ${info} for a simple value`);
    }
  }

  itemOrBreak(depth: number): unknown {
    if (this.pos < this.bytes.length && this.bytes[this.pos] === 0xff) {
      this.pos++;
      return BREAK;
    }
    return this.item(depth);
  }

  notBreak(v: unknown): unknown {
    if (v === BREAK) this.fail("unexpected break outside an indefinite-length item");
    return v;
  }
}

/** Decode an IEEE 754 half-precision value. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

type TypedArray =
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

function typedArrayFromTag(tag: number, bytes: Uint8Array, fail: (m: string) => never): TypedArray {
  // RFC 8746: tag = 0b010_f_s_e_ll (f float, s signed, e little-endian, ll length code).
  const f = (tag >> 4) & 1;
  const s = (tag >> 3) & 1;
  const le = ((tag >> 2) & 1) === 1;
  const ll = tag & 3;
  if (f === 1 && ll === 3) fail(`typed-array tag ${tag} (float128) is not supported`);
  const size = f === 1 ? 2 << ll : 1 << ll;
  if (bytes.length % size !== 0) {
    fail(`typed-array tag ${tag} holds ${bytes.length} bytes, not a multiple of ${size}`);
  }
  const n = bytes.length / size;
  if (size === 1) {
    const copy = bytes.slice();
    if (tag === 68) return new Uint8ClampedArray(copy.buffer);
    return s ? new Int8Array(copy.buffer) : copy;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (f === 1) {
    if (size === 2) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, le));
      return out;
    }
    if (size === 4) return fill(new Float32Array(n), (i) => dv.getFloat32(i * 4, le), bytes, le);
    return fill(new Float64Array(n), (i) => dv.getFloat64(i * 8, le), bytes, le);
  }
  if (size === 2) {
    return s
      ? fill(new Int16Array(n), (i) => dv.getInt16(i * 2, le), bytes, le)
      : fill(new Uint16Array(n), (i) => dv.getUint16(i * 2, le), bytes, le);
  }
  if (size === 4) {
    return s
      ? fill(new Int32Array(n), (i) => dv.getInt32(i * 4, le), bytes, le)
      : fill(new Uint32Array(n), (i) => dv.getUint32(i * 4, le), bytes, le);
  }
  const big = s ? new BigInt64Array(n) : new BigUint64Array(n);
  for (let i = 0; i < n; i++) big[i] = s ? dv.getBigInt64(i * 8, le) : dv.getBigUint64(i * 8, le);
  return big;
}

function fill<T extends Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array>(
  out: T,
  get: (i: number) => number,
  bytes: Uint8Array,
  le: boolean,
): T {
  if (le === LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes); // same byte order: one copy
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = get(i);
  return out;
}

/**
 * Decode one CBOR data item.
 * @throws CborError on malformed, truncated or over-limit input.
 */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 64;
  const maxLength = options.maxLength ?? 256 * 1024 * 1024;
  const r = new Reader(bytes, maxDepth, maxLength, options.maxItems ?? 1024 * 1024);
  if (bytes.length === 0) r.fail("empty input");
  const value = r.notBreak(r.item(0));
  if (!options.allowTrailing && r.pos !== bytes.length) {
    r.fail(`${bytes.length - r.pos} trailing bytes after the data item`);
  }
  return value;
}

// ---------------------------------------------------------------- encoder

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  head(major: number, n: number | bigint): void {
    const m = major << 5;
    if (typeof n === "bigint" || n > 0xffffffff) {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.view.setBigUint64(this.pos, BigInt(n));
      this.pos += 8;
    } else if (n < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | n;
    } else if (n < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = n;
    } else if (n < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = m | 25;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.ensure(5);
      this.buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}

const utf8Encoder = new TextEncoder();
const TYPED_TAGS: [new (...a: never[]) => ArrayBufferView, number][] = [
  // Little-endian tags (this machine's order; rosbridge's cbor writer uses them too).
  [Uint8ClampedArray, 68],
  [Uint16Array, 69],
  [Uint32Array, 70],
  [BigUint64Array, 71],
  [Int8Array, 72],
  [Int16Array, 77],
  [Int32Array, 78],
  [BigInt64Array, 79],
  [Float32Array, 85],
  [Float64Array, 86],
];

function encodeItem(w: Writer, value: unknown, depth: number): void {
  if (depth > 256) throw new CborError("Cannot encode CBOR as the value nests deeper than 256 levels");
  if (value === null) return w.head(7, 22);
  if (value === undefined) return w.head(7, 23);
  if (value === false) return w.head(7, 20);
  if (value === true) return w.head(7, 21);
  if (typeof value === "number") {
    if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER && !Object.is(value, -0)) {
      return value >= 0 ? w.head(0, value) : w.head(1, -1 - value);
    }
    if (Math.fround(value) === value || Number.isNaN(value)) {
      w.ensure(5);
      w.buf[w.pos++] = 0xfa;
      w.view.setFloat32(w.pos, value);
      w.pos += 4;
      return;
    }
    w.ensure(9);
    w.buf[w.pos++] = 0xfb;
    w.view.setFloat64(w.pos, value);
    w.pos += 8;
    return;
  }
  if (typeof value === "bigint") {
    if (value >= 0n) {
      if (value <= 0xffffffffffffffffn) return w.head(0, value);
      return encodeItem(w, new CborTag(2, bigToBytes(value)), depth);
    }
    const n = -1n - value;
    if (n <= 0xffffffffffffffffn) return w.head(1, n);
    return encodeItem(w, new CborTag(3, bigToBytes(n)), depth);
  }
  if (typeof value === "string") {
    const bytes = utf8Encoder.encode(value);
    w.head(3, bytes.length);
    return w.raw(bytes);
  }
  if (value instanceof Uint8Array && value.constructor === Uint8Array) {
    w.head(2, value.length);
    return w.raw(value);
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const entry = TYPED_TAGS.find(([ctor]) => value instanceof ctor);
    if (!entry || !LITTLE_ENDIAN) {
      throw new CborError(`Cannot encode CBOR typed array ${value.constructor.name}`);
    }
    w.head(6, entry[1]);
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    w.head(2, bytes.length);
    return w.raw(bytes);
  }
  if (value instanceof CborTag) {
    w.head(6, value.tag);
    return encodeItem(w, value.value, depth + 1);
  }
  if (value instanceof CborSimple) {
    if (value.value < 24) return w.head(7, value.value);
    w.ensure(2);
    w.buf[w.pos++] = 0xf8;
    w.buf[w.pos++] = value.value;
    return;
  }
  if (Array.isArray(value)) {
    w.head(4, value.length);
    for (const v of value) encodeItem(w, v, depth + 1);
    return;
  }
  if (value instanceof Map) {
    w.head(5, value.size);
    for (const [k, v] of value) {
      encodeItem(w, k, depth + 1);
      encodeItem(w, v, depth + 1);
    }
    return;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    w.head(5, entries.length);
    for (const [k, v] of entries) {
      encodeItem(w, k, depth + 1);
      encodeItem(w, v, depth + 1);
    }
    return;
  }
  throw new CborError(`Cannot encode CBOR value of type ${typeof value}`);
}

function bigToBytes(n: bigint): Uint8Array {
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return new Uint8Array(out);
}

/**
 * Encode a value as CBOR: numbers (integers as major 0/1, other numbers as float32 when exact, else float64),
 * bigint, strings, `Uint8Array` as byte strings, other typed arrays with the little-endian RFC 8746 tags, arrays,
 * `Map`s and plain objects (keys with `undefined` values are skipped), {@link CborTag}, {@link CborSimple}.
 */
export function encodeCbor(value: unknown): Uint8Array {
  const w = new Writer();
  encodeItem(w, value, 0);
  return w.buf.slice(0, w.pos);
}
