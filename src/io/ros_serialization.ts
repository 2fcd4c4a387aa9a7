/**
 * Pure kernels: the binary serialisations of `sensor_msgs/CompressedImage` and `sensor_msgs/Image` as they
 * arrive with rosbridge's `compression: "cbor-raw"` — ROS 1 (little-endian, no alignment, `u32` length prefixes)
 * and ROS 2 CDR (4-byte encapsulation header, aligned primitives, NUL-terminated strings) — in both directions
 * (the writers serve test doubles and publishers). No I/O, no RxJS.
 *
 * Layouts:
 * - ROS 1 header: `seq u32, stamp.secs u32, stamp.nsecs u32, frame_id string` (string = `u32 length` + bytes).
 *   CompressedImage: header, `format string`, `data uint8[]` (= `u32 length` + bytes).
 *   Image: header, `height u32, width u32, encoding string, is_bigendian u8, step u32, data uint8[]`.
 * - ROS 2 CDR: encapsulation `00 01 00 00` (little-endian) or `00 00 00 00` (big-endian); then the same fields
 *   without `seq`, `stamp` as `sec i32, nanosec u32`, strings as `u32 length incl. NUL` + bytes + NUL, each
 *   primitive aligned to its size relative to the end of the encapsulation header.
 *
 * @module
 */
import { BridgeProtocolError } from "../errors.ts";

/** A ROS `std_msgs/Header`. `seq` exists in ROS 1 only. */
export interface RosHeader {
  /** ROS 1 only. */
  seq?: number;
  /** Stamp seconds (`secs` / `sec`). */
  sec: number;
  /** Stamp nanoseconds (`nsecs` / `nanosec`). */
  nanosec: number;
  /** `frame_id`. */
  frameId: string;
}

/** Fields of `sensor_msgs/CompressedImage`. */
export interface RosCompressedImageFields {
  type: "compressed";
  header: RosHeader;
  format: string;
  data: Uint8Array;
}

/** Fields of `sensor_msgs/Image`. */
export interface RosRawImageFields {
  type: "raw";
  header: RosHeader;
  height: number;
  width: number;
  encoding: string;
  isBigEndian: boolean;
  step: number;
  data: Uint8Array;
}

/** Either image message. */
export type RosImageFields = RosCompressedImageFields | RosRawImageFields;

/** Which serialisation. */
export type RosWireFormat = "ros1" | "cdr";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

class WireReader {
  pos: number;
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly format: RosWireFormat,
    readonly le: boolean,
    start: number,
    readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  fail(problem: string): never {
    throw new BridgeProtocolError(
      `Cannot deserialise ${this.what} (${
        this.format === "ros1" ? "ROS 1" : "ROS 2 CDR"
      }) at byte ${this.pos} of ${this.bytes.length}: ${problem}`,
    );
  }

  align(n: number): void {
    if (this.format === "cdr") this.pos = 4 + Math.ceil((this.pos - 4) / n) * n;
  }

  u8(): number {
    if (this.pos + 1 > this.bytes.length) this.fail("truncated");
    return this.bytes[this.pos++];
  }

  u32(): number {
    this.align(4);
    if (this.pos + 4 > this.bytes.length) this.fail("truncated");
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.align(4);
    if (this.pos + 4 > this.bytes.length) this.fail("truncated");
    const v = this.view.getInt32(this.pos, this.le);
    this.pos += 4;
    return v;
  }

  bytesOf(n: number, field: string): Uint8Array {
    if (n > this.bytes.length - this.pos) {
      this.fail(`'${field}' declares ${n} bytes but only ${this.bytes.length - this.pos} remain`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(field: string): string {
    const n = this.u32();
    if (n > 4096) this.fail(`'${field}' declares an absurd string length ${n}`);
    let b = this.bytesOf(n, field);
    if (this.format === "cdr") {
      if (n === 0 || b[n - 1] !== 0) this.fail(`'${field}' is not NUL-terminated`);
      b = b.subarray(0, n - 1);
    }
    try {
      return utf8.decode(b);
    } catch {
      return this.fail(`'${field}' is not valid UTF-8`);
    }
  }

  header(): RosHeader {
    if (this.format === "ros1") {
      const seq = this.u32();
      const sec = this.u32();
      const nanosec = this.u32();
      return { seq, sec, nanosec, frameId: this.string("header.frame_id") };
    }
    const sec = this.i32();
    const nanosec = this.u32();
    return { sec, nanosec, frameId: this.string("header.frame_id") };
  }

  end(): void {
    // CDR may pad the end to a multiple of 4; ROS 1 must end exactly.
    const extra = this.bytes.length - this.pos;
    if (extra > (this.format === "cdr" ? 3 : 0)) this.fail(`${extra} unexpected trailing bytes`);
  }
}

/** The wire format a payload most likely uses: CDR when it starts with a CDR encapsulation header. */
export function sniffRosWireFormat(bytes: Uint8Array, typeName?: string): RosWireFormat {
  if (typeName && typeName.includes("/msg/")) return "cdr";
  if (typeName && typeName.includes("/")) return "ros1";
  const cdrLike = bytes.length >= 4 && bytes[0] === 0 && (bytes[1] === 0 || bytes[1] === 1) &&
    bytes[2] === 0 &&
    bytes[3] === 0;
  return cdrLike ? "cdr" : "ros1";
}

/**
 * Deserialise an image message.
 * @param type which message (`"compressed"` or `"raw"`).
 * @param format wire format to try first; `undefined` sniffs it ({@link sniffRosWireFormat}).
 * @param fallback when the first format fails, try the other one (a ROS 2 bridge also accepts ROS 1 type names,
 *   so the name alone does not settle it). Default true.
 * @throws BridgeProtocolError (the first format's error) when the bytes do not hold that message.
 */
export function deserializeRosImage(
  bytes: Uint8Array,
  type: "compressed" | "raw",
  format?: RosWireFormat,
  fallback = true,
): RosImageFields {
  const first = format ?? sniffRosWireFormat(bytes);
  try {
    return deserializeWith(bytes, type, first);
  } catch (err) {
    if (!fallback) throw err;
    try {
      return deserializeWith(bytes, type, first === "cdr" ? "ros1" : "cdr");
    } catch {
      throw err;
    }
  }
}

function deserializeWith(
  bytes: Uint8Array,
  type: "compressed" | "raw",
  format: RosWireFormat,
): RosImageFields {
  const what = type === "compressed" ? "sensor_msgs/CompressedImage" : "sensor_msgs/Image";
  let le = true;
  let start = 0;
  if (format === "cdr") {
    if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] > 1) {
      throw new BridgeProtocolError(`Cannot deserialise ${what} (ROS 2 CDR): missing encapsulation header`);
    }
    le = bytes[1] === 1;
    start = 4;
  }
  const r = new WireReader(bytes, format, le, start, what);
  const header = r.header();
  if (type === "compressed") {
    const fmt = r.string("format");
    const n = r.u32();
    const data = r.bytesOf(n, "data");
    r.end();
    return { type, header, format: fmt, data };
  }
  const height = r.u32();
  const width = r.u32();
  const encoding = r.string("encoding");
  const isBigEndian = r.u8() !== 0;
  const step = r.u32();
  const n = r.u32();
  const data = r.bytesOf(n, "data");
  r.end();
  return { type, header, height, width, encoding, isBigEndian, step, data };
}

class WireWriter {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  constructor(readonly format: RosWireFormat) {
    if (format === "cdr") this.raw(new Uint8Array([0, 1, 0, 0]));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  align(n: number): void {
    if (this.format !== "cdr") return;
    while ((this.pos - 4) % n !== 0) this.u8(0);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  i32(v: number): void {
    this.align(4);
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    const b = utf8Encoder.encode(s);
    if (this.format === "cdr") {
      this.u32(b.length + 1);
      this.raw(b);
      this.u8(0);
    } else {
      this.u32(b.length);
      this.raw(b);
    }
  }

  header(h: RosHeader): void {
    if (this.format === "ros1") {
      this.u32(h.seq ?? 0);
      this.u32(h.sec);
    } else {
      this.i32(h.sec);
    }
    this.u32(h.nanosec);
    this.string(h.frameId);
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Serialise an image message (ROS 1, or little-endian ROS 2 CDR). */
export function serializeRosImage(msg: RosImageFields, format: RosWireFormat = "ros1"): Uint8Array {
  const w = new WireWriter(format);
  w.header(msg.header);
  if (msg.type === "compressed") {
    w.string(msg.format);
  } else {
    w.u32(msg.height);
    w.u32(msg.width);
    w.string(msg.encoding);
    w.u8(msg.isBigEndian ? 1 : 0);
    w.u32(msg.step);
  }
  w.u32(msg.data.length);
  w.raw(msg.data);
  return w.done();
}
