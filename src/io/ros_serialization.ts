/**
 * The binary serialisations of `sensor_msgs/CompressedImage` and `sensor_msgs/Image` as they arrive with
 * rosbridge's `compression: "cbor-raw"`: ROS 1 (little-endian, no alignment, `u32` length prefixes) and ROS 2 CDR
 * (4-byte encapsulation header, aligned primitives, NUL-terminated strings), in both directions (the writers
 * serve test doubles and publishers).
 *
 * Decoding and encoding are the Foxglove libraries' (`@foxglove/rosmsg-serialization` for ROS 1,
 * `@foxglove/rosmsg2-serialization` for CDR) driven by the message definitions below. Before a message reaches
 * them, {@link checkLayout} walks the same definitions over the bytes, because the payload is untrusted and the
 * libraries trust it: they build `uint8[]` views on the underlying buffer without checking the declared length
 * against the message's own bytes (a view may read past them into the rest of the frame), accept any string
 * length and ignore trailing bytes. The walk rejects, naming the field and byte offset: truncation, a declared
 * length beyond the bytes, strings over 4096 bytes, invalid UTF-8, a CDR string without its NUL, and trailing
 * bytes (ROS 1: none; CDR: at most 3 bytes of padding).
 *
 * @module
 */
import { MessageReader as Ros1Reader, MessageWriter as Ros1Writer } from "@foxglove/rosmsg-serialization";
import { MessageReader as CdrReader, MessageWriter as CdrWriter } from "@foxglove/rosmsg2-serialization";
import { BridgeProtocolError } from "../errors.ts";

/** A parsed message definition (`@foxglove/message-definition`'s shape, as the readers take it). */
type MessageDefinition = ConstructorParameters<typeof CdrReader>[0][number];

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

// ------------------------------------------------------------------ message definitions

const f = (name: string, type: string, extra: { isArray?: boolean; isComplex?: boolean } = {}) => ({
  name,
  type,
  ...extra,
});

const HEADER: Record<RosWireFormat, MessageDefinition[]> = {
  ros1: [{
    name: "std_msgs/Header",
    definitions: [f("seq", "uint32"), f("stamp", "time"), f("frame_id", "string")],
  }],
  cdr: [
    {
      name: "std_msgs/Header",
      definitions: [f("stamp", "builtin_interfaces/Time", { isComplex: true }), f("frame_id", "string")],
    },
    { name: "builtin_interfaces/Time", definitions: [f("sec", "int32"), f("nanosec", "uint32")] },
  ],
};

function imageDefinitions(kind: "compressed" | "raw", format: RosWireFormat): MessageDefinition[] {
  const header = f("header", "std_msgs/Header", { isComplex: true });
  const data = f("data", "uint8", { isArray: true });
  const root: MessageDefinition = kind === "compressed"
    ? { name: "sensor_msgs/CompressedImage", definitions: [header, f("format", "string"), data] }
    : {
      name: "sensor_msgs/Image",
      definitions: [
        header,
        f("height", "uint32"),
        f("width", "uint32"),
        f("encoding", "string"),
        f("is_bigendian", "uint8"),
        f("step", "uint32"),
        data,
      ],
    };
  return [root, ...HEADER[format]];
}

const DEFINITIONS = {
  compressed: { ros1: imageDefinitions("compressed", "ros1"), cdr: imageDefinitions("compressed", "cdr") },
  raw: { ros1: imageDefinitions("raw", "ros1"), cdr: imageDefinitions("raw", "cdr") },
};

const READERS = {
  compressed: {
    ros1: new Ros1Reader(DEFINITIONS.compressed.ros1),
    cdr: new CdrReader(DEFINITIONS.compressed.cdr),
  },
  raw: { ros1: new Ros1Reader(DEFINITIONS.raw.ros1), cdr: new CdrReader(DEFINITIONS.raw.cdr) },
};

const WRITERS = {
  compressed: {
    ros1: new Ros1Writer(DEFINITIONS.compressed.ros1),
    cdr: new CdrWriter(DEFINITIONS.compressed.cdr),
  },
  raw: { ros1: new Ros1Writer(DEFINITIONS.raw.ros1), cdr: new CdrWriter(DEFINITIONS.raw.cdr) },
};

// ------------------------------------------------------------------ layout check

const PRIMITIVE_SIZE: Record<string, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  byte: 1,
  char: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
};

/** Longest string field accepted (frame ids, formats and encodings are short). */
const MAX_STRING = 4096;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** One step of a compiled layout: a fixed-size value, a string, a primitive array, or a nested message. */
type Step =
  | { op: "fixed"; size: number; align: number; field: string }
  | { op: "string"; field: string }
  | { op: "array"; size: number; count?: number; field: string }
  | { op: "message"; plan: Step[]; count?: number; array: boolean; field: string };

const PLANS = new WeakMap<MessageDefinition[], Step[]>();

/** The definitions' root as a flat list of steps (compiled once per definitions array). */
function planOf(definitions: MessageDefinition[]): Step[] {
  let plan = PLANS.get(definitions);
  if (plan) return plan;
  const types = new Map(definitions.map((d) => [d.name ?? "", d]));
  const compile = (def: MessageDefinition, prefix: string): Step[] =>
    def.definitions.filter((d) => !d.isConstant).map((d): Step => {
      const field = prefix + d.name;
      const size = d.isComplex
        ? undefined
        : (d.type === "time" || d.type === "duration" ? 8 : PRIMITIVE_SIZE[d.type]);
      if (d.type === "string" && !d.isArray) return { op: "string", field };
      // CDR aligns a primitive to its size (a time is two 4-byte fields).
      if (size !== undefined && !d.isArray) {
        return { op: "fixed", size, align: d.type === "time" ? 4 : size, field };
      }
      if (size !== undefined && (d.type !== "time" && d.type !== "duration")) {
        return { op: "array", size, count: d.arrayLength, field };
      }
      const sub = types.get(d.type);
      if (!sub) throw new Error(`no definition of ${d.type}`);
      return {
        op: "message",
        plan: compile(sub, `${field}.`),
        count: d.arrayLength,
        array: !!d.isArray,
        field,
      };
    });
  plan = compile(definitions[0], "");
  PLANS.set(definitions, plan);
  return plan;
}

class LayoutWalk {
  pos: number;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly format: RosWireFormat,
    private readonly le: boolean,
    start: number,
    private readonly what: string,
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

  private align(n: number): void {
    if (this.format === "cdr" && n > 1) this.pos = 4 + Math.ceil((this.pos - 4) / n) * n;
  }

  /** Step over `n` bytes: a fixed-size value (`declared` false) or a length the message declares. */
  private skip(n: number, field: string, declared = true): void {
    if (n > this.bytes.length - this.pos) {
      if (!declared) this.fail("truncated");
      this.fail(`'${field}' declares ${n} bytes but only ${this.bytes.length - this.pos} remain`);
    }
    this.pos += n;
  }

  private u32(): number {
    this.align(4);
    if (this.pos + 4 > this.bytes.length) this.fail("truncated");
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }

  private string(field: string): void {
    const n = this.u32();
    if (n > MAX_STRING) this.fail(`'${field}' declares an absurd string length ${n}`);
    const start = this.pos;
    this.skip(n, field);
    let end = start + n;
    if (this.format === "cdr") {
      if (n === 0 || this.bytes[end - 1] !== 0) this.fail(`'${field}' is not NUL-terminated`);
      end--;
    }
    // ASCII (every frame id, format and encoding in practice) needs no decoder.
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (this.bytes[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return;
    try {
      utf8.decode(this.bytes.subarray(start, end));
    } catch {
      this.fail(`'${field}' is not valid UTF-8`);
    }
  }

  run(plan: Step[]): void {
    for (const step of plan) {
      switch (step.op) {
        case "fixed":
          this.align(step.align);
          this.skip(step.size, step.field, false);
          break;
        case "string":
          this.string(step.field);
          break;
        case "array": {
          const count = step.count ?? this.u32();
          this.align(step.size);
          this.skip(count * step.size, step.field);
          break;
        }
        case "message": {
          const count = step.array ? step.count ?? this.u32() : 1;
          for (let i = 0; i < count; i++) this.run(step.plan);
          break;
        }
      }
    }
  }

  end(): void {
    // CDR may pad the end to a multiple of 4; ROS 1 must end exactly.
    const extra = this.bytes.length - this.pos;
    if (extra > (this.format === "cdr" ? 3 : 0)) this.fail(`${extra} unexpected trailing bytes`);
  }
}

/**
 * Check that `bytes` hold exactly one message of `definitions[0]` in `format` (see the module doc).
 * @throws BridgeProtocolError naming the field, the byte offset and the problem.
 */
export function checkLayout(
  bytes: Uint8Array,
  definitions: MessageDefinition[],
  format: RosWireFormat,
  what = definitions[0].name ?? "message",
): void {
  let le = true;
  let start = 0;
  if (format === "cdr") {
    if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] > 1) {
      throw new BridgeProtocolError(`Cannot deserialise ${what} (ROS 2 CDR): missing encapsulation header`);
    }
    le = bytes[1] === 1;
    start = 4;
  }
  const walk = new LayoutWalk(bytes, format, le, start, what);
  walk.run(planOf(definitions));
  walk.end();
}

// ------------------------------------------------------------------ decode / encode

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

interface WireHeader {
  seq?: number;
  stamp: { sec: number; nsec?: number; nanosec?: number };
  frame_id: string;
}

function deserializeWith(
  bytes: Uint8Array,
  type: "compressed" | "raw",
  format: RosWireFormat,
): RosImageFields {
  const what = type === "compressed" ? "sensor_msgs/CompressedImage" : "sensor_msgs/Image";
  checkLayout(bytes, DEFINITIONS[type][format], format, what);
  const m = READERS[type][format].readMessage<
    Record<string, unknown> & { header: WireHeader; data: Uint8Array }
  >(
    bytes,
  );
  const h = m.header;
  const header: RosHeader = {
    sec: h.stamp.sec,
    nanosec: h.stamp.nsec ?? h.stamp.nanosec ?? 0,
    frameId: h.frame_id,
  };
  if (format === "ros1") header.seq = h.seq;
  if (type === "compressed") return { type, header, format: m.format as string, data: m.data };
  return {
    type,
    header,
    height: m.height as number,
    width: m.width as number,
    encoding: m.encoding as string,
    isBigEndian: m.is_bigendian !== 0,
    step: m.step as number,
    data: m.data,
  };
}

/** Serialise an image message (ROS 1, or little-endian ROS 2 CDR). */
export function serializeRosImage(msg: RosImageFields, format: RosWireFormat = "ros1"): Uint8Array {
  const h = msg.header;
  const header = format === "ros1"
    ? { seq: h.seq ?? 0, stamp: { sec: h.sec, nsec: h.nanosec }, frame_id: h.frameId }
    : { stamp: { sec: h.sec, nanosec: h.nanosec }, frame_id: h.frameId };
  const wire = msg.type === "compressed" ? { header, format: msg.format, data: msg.data } : {
    header,
    height: msg.height,
    width: msg.width,
    encoding: msg.encoding,
    is_bigendian: msg.isBigEndian ? 1 : 0,
    step: msg.step,
    data: msg.data,
  };
  // `data` is the last field of both messages: the writers copy a uint8[] byte by byte, so they write the rest
  // (ending in data's u32 length, here 0) and the bytes are appended in one copy.
  const head = WRITERS[msg.type][format].writeMessage({ ...wire, data: EMPTY });
  const out = new Uint8Array(head.length + msg.data.length);
  out.set(head);
  new DataView(out.buffer).setUint32(head.length - 4, msg.data.length, true);
  out.set(msg.data, head.length);
  return out;
}

const EMPTY = new Uint8Array(0);
