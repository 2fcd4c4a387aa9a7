/**
 * A minimal, dependency-free protobuf writer for the subset of ONNX `ModelProto` that Waymark builds:
 * graphs, nodes, attributes (float, int, string, tensor, floats, ints), tensors (float32 raw data, int64)
 * and value infos with static or dynamic dimensions.
 *
 * Field numbers follow `onnx/onnx.proto` (IR version 8, default opset 17).
 *
 * @module
 */

/** ONNX tensor element types used here (`TensorProto.DataType`). */
export const DataType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7 } as const;
/** An ONNX element type code. */
export type DataTypeCode = typeof DataType[keyof typeof DataType];

/** A constant tensor (initializer or attribute value). */
export interface TensorDef {
  name: string;
  dims: number[];
  /** float32 data (stored as raw_data) or int64 data (stored as int64_data). */
  data: Float32Array | BigInt64Array | number[];
  /** Defaults to FLOAT for Float32Array, INT64 otherwise. */
  dataType?: DataTypeCode;
}

/** A node attribute value. Numbers are INT when `Number.isInteger` unless wrapped with {@link floatAttr}. */
export type AttributeValue =
  | number
  | string
  | number[]
  | { kind: "float"; value: number }
  | { kind: "floats"; value: number[] }
  | { kind: "ints"; value: number[] }
  | { kind: "tensor"; value: TensorDef };

/** Mark a number as a FLOAT attribute (integers would otherwise be encoded as INT). */
export function floatAttr(value: number): AttributeValue {
  return { kind: "float", value };
}
/** Mark a list as a FLOATS attribute. */
export function floatsAttr(value: number[]): AttributeValue {
  return { kind: "floats", value };
}

/** One graph node. */
export interface NodeDef {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, AttributeValue>;
  domain?: string;
}

/** A graph input or output: element type and shape; a string dimension is symbolic (dynamic). */
export interface ValueInfoDef {
  name: string;
  elemType: DataTypeCode;
  shape: (number | string)[];
}

/** A whole graph. */
export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: TensorDef[];
  inputs: ValueInfoDef[];
  outputs: ValueInfoDef[];
  docString?: string;
}

/** Model-level fields. */
export interface ModelDef {
  graph: GraphDef;
  /** Default 17. */
  opset?: number;
  /** Default 8. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Record<string, string>;
}

// ------------------------------------------------------------------ protobuf writer

class Writer {
  #buf = new Uint8Array(1024);
  #len = 0;

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }
  varint(v: number | bigint): void {
    // Negative int64 values are encoded as 10-byte two's complement varints.
    let x = BigInt.asUintN(64, BigInt(v));
    this.#ensure(10);
    if (x < 0x80n) {
      this.#buf[this.#len++] = Number(x);
      return;
    }
    while (x >= 0x80n) {
      this.#buf[this.#len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.#buf[this.#len++] = Number(x);
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.#ensure(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    this.#ensure(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, v, true);
    this.#len += 4;
  }
  message(field: number, build: (w: Writer) => void): void {
    const inner = new Writer();
    build(inner);
    this.bytes(field, inner.finish());
  }
  packedInts(field: number, values: ArrayLike<number | bigint>): void {
    const inner = new Writer();
    for (let i = 0; i < values.length; i++) inner.varint(values[i]);
    this.bytes(field, inner.finish());
  }
  packedFloats(field: number, values: number[]): void {
    const f = new Float32Array(values);
    this.bytes(field, new Uint8Array(f.buffer));
  }
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function writeTensor(w: Writer, t: TensorDef): void {
  const isFloat = t.data instanceof Float32Array || t.dataType === DataType.FLOAT;
  const dataType = t.dataType ?? (isFloat ? DataType.FLOAT : DataType.INT64);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new RangeError(`Tensor '${t.name}' has ${t.data.length} values but dims ${JSON.stringify(t.dims)}`);
  }
  w.packedInts(1, t.dims);
  w.int(2, dataType);
  w.string(8, t.name);
  if (dataType === DataType.FLOAT) {
    const f = t.data instanceof Float32Array ? t.data : new Float32Array(t.data as number[]);
    // raw_data is little-endian; every platform Deno runs on is little-endian.
    w.bytes(9, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  } else if (dataType === DataType.INT64) {
    const vals = Array.from(t.data as ArrayLike<number | bigint>, (v) => BigInt(v));
    if (vals.length > 0) w.packedInts(7, vals);
  } else if (dataType === DataType.INT32 || dataType === DataType.UINT8) {
    const vals = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
    if (vals.length > 0) w.packedInts(5, vals);
  } else {
    throw new RangeError(`Tensor '${t.name}': unsupported data type ${dataType}`);
  }
}

function writeAttribute(w: Writer, name: string, v: AttributeValue): void {
  w.string(1, name);
  if (typeof v === "number") {
    if (Number.isInteger(v)) {
      w.int(3, v);
      w.int(20, 2);
    } else {
      w.float(2, v);
      w.int(20, 1);
    }
  } else if (typeof v === "string") {
    w.bytes(4, new TextEncoder().encode(v));
    w.int(20, 3);
  } else if (Array.isArray(v)) {
    if (v.every(Number.isInteger)) {
      w.packedInts(8, v);
      w.int(20, 7);
    } else {
      w.packedFloats(7, v);
      w.int(20, 6);
    }
  } else if (v.kind === "float") {
    w.float(2, v.value);
    w.int(20, 1);
  } else if (v.kind === "floats") {
    w.packedFloats(7, v.value);
    w.int(20, 6);
  } else if (v.kind === "ints") {
    w.packedInts(8, v.value);
    w.int(20, 7);
  } else {
    const t = v.value;
    w.message(5, (m) => writeTensor(m, t));
    w.int(20, 4);
  }
}

function writeNode(w: Writer, n: NodeDef): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {})) w.message(5, (m) => writeAttribute(m, k, v));
  if (n.domain) w.string(7, n.domain);
}

function writeValueInfo(w: Writer, v: ValueInfoDef): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => {
            if (typeof d === "number") dim.int(1, d);
            else dim.string(2, d);
          });
        }
      });
    }));
}

function writeGraph(w: Writer, g: GraphDef): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  if (g.docString) w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/**
 * Serialise a model to ONNX protobuf bytes.
 *
 * @example
 * ```ts
 * import { DataType, encodeModel } from "./onnx_proto.ts";
 * const bytes = encodeModel({
 *   graph: {
 *     name: "identity",
 *     nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"], name: "id" }],
 *     initializers: [],
 *     inputs: [{ name: "x", elemType: DataType.FLOAT, shape: ["N", 4] }],
 *     outputs: [{ name: "y", elemType: DataType.FLOAT, shape: ["N", 4] }],
 *   },
 * });
 * console.assert(bytes.length > 0);
 * ```
 */
export function encodeModel(model: ModelDef): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion ?? 8);
  w.string(2, model.producerName ?? "waymark");
  w.string(3, model.producerVersion ?? "0.1.0");
  if (model.docString) w.string(6, model.docString);
  w.message(7, (m) => writeGraph(m, model.graph));
  w.message(8, (m) => {
    m.string(1, "");
    m.int(2, model.opset ?? 17);
  });
  for (const [k, v] of Object.entries(model.metadata ?? {})) {
    w.message(14, (m) => {
      m.string(1, k);
      m.string(2, v);
    });
  }
  return w.finish();
}
