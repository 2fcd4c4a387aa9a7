/**
 * The subset of ONNX `ModelProto` that Waymark builds (graphs, nodes, attributes: float, int, string, tensor,
 * floats, ints; tensors: float32 raw data, int64, int32/uint8; value infos with static or dynamic
 * dimensions), as plain definitions, and their encoding. The protobuf work is `onnx-proto` (the ONNX schema
 * compiled by protobufjs): these definitions map onto its messages, and it writes the bytes (fields in
 * field-number order, repeated numbers packed). {@link decodeModel} reads ONNX bytes back with the same
 * schema. IR version 8, default opset 17.
 *
 * @module
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

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

// ------------------------------------------------------------------ definitions -> onnx-proto messages

const utf8 = new TextEncoder();

function tensorProto(t: TensorDef): onnxProto.onnx.ITensorProto {
  const isFloat = t.data instanceof Float32Array || t.dataType === DataType.FLOAT;
  const dataType = t.dataType ?? (isFloat ? DataType.FLOAT : DataType.INT64);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new RangeError(`Tensor '${t.name}' has ${t.data.length} values but dims ${JSON.stringify(t.dims)}`);
  }
  const p: onnxProto.onnx.ITensorProto = { dims: t.dims, dataType, name: t.name };
  if (dataType === DataType.FLOAT) {
    const f = t.data instanceof Float32Array ? t.data : new Float32Array(t.data as number[]);
    // raw_data is little-endian; every platform Deno runs on is little-endian.
    p.rawData = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  } else if (dataType === DataType.INT64) {
    p.int64Data = Array.from(t.data as ArrayLike<number | bigint>, (v) => int64(t.name, v));
  } else if (dataType === DataType.INT32 || dataType === DataType.UINT8) {
    p.int32Data = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
  } else {
    throw new RangeError(`Tensor '${t.name}': unsupported data type ${dataType}`);
  }
  return p;
}

/** An int64 value as protobufjs takes it (a number; exact only within +-2^53, which is checked). */
function int64(name: string, v: number | bigint): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || BigInt(n) !== BigInt(v)) {
    throw new RangeError(`Tensor '${name}': int64 value ${v} is outside the exactly representable range`);
  }
  return n;
}

const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function attributeProto(name: string, v: AttributeValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === "number") {
    return Number.isInteger(v)
      ? { name, i: v, type: AttributeType.INT }
      : { name, f: v, type: AttributeType.FLOAT };
  }
  if (typeof v === "string") return { name, s: utf8.encode(v), type: AttributeType.STRING };
  if (Array.isArray(v)) {
    return v.every(Number.isInteger)
      ? { name, ints: v, type: AttributeType.INTS }
      : { name, floats: v, type: AttributeType.FLOATS };
  }
  switch (v.kind) {
    case "float":
      return { name, f: v.value, type: AttributeType.FLOAT };
    case "floats":
      return { name, floats: v.value, type: AttributeType.FLOATS };
    case "ints":
      return { name, ints: v.value, type: AttributeType.INTS };
    case "tensor":
      return { name, t: tensorProto(v.value), type: AttributeType.TENSOR };
  }
}

function nodeProto(n: NodeDef): onnxProto.onnx.INodeProto {
  const p: onnxProto.onnx.INodeProto = {
    input: n.inputs,
    output: n.outputs,
    name: n.name,
    opType: n.opType,
    attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attributeProto(k, v)),
  };
  if (n.domain) p.domain = n.domain;
  return p;
}

function valueInfoProto(v: ValueInfoDef): onnxProto.onnx.IValueInfoProto {
  const dim = v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d }));
  return { name: v.name, type: { tensorType: { elemType: v.elemType, shape: { dim } } } };
}

function graphProto(g: GraphDef): onnxProto.onnx.IGraphProto {
  const p: onnxProto.onnx.IGraphProto = {
    node: g.nodes.map(nodeProto),
    name: g.name,
    initializer: g.initializers.map(tensorProto),
    input: g.inputs.map(valueInfoProto),
    output: g.outputs.map(valueInfoProto),
  };
  if (g.docString) p.docString = g.docString;
  return p;
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
  const p: onnxProto.onnx.IModelProto = {
    irVersion: model.irVersion ?? 8,
    producerName: model.producerName ?? "waymark",
    producerVersion: model.producerVersion ?? "0.1.0",
    graph: graphProto(model.graph),
    opsetImport: [{ domain: "", version: model.opset ?? 17 }],
    metadataProps: Object.entries(model.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  if (model.docString) p.docString = model.docString;
  return onnx.ModelProto.encode(p).finish();
}

/** A decoded ONNX model (protobufjs message; int64 fields as numbers, bytes as views into the input). */
export type DecodedModel = onnxProto.onnx.ModelProto;

/**
 * Decode ONNX `ModelProto` bytes with the ONNX schema. Throws (protobufjs `RangeError`/`Error`) on bytes that
 * are not a well-formed protobuf message: a truncated field, a bad wire type, a length past the end.
 *
 * @example
 * ```ts
 * import { DataType, decodeModel, encodeModel } from "./onnx_proto.ts";
 * const bytes = encodeModel({
 *   graph: { name: "g", nodes: [], initializers: [], inputs: [], outputs: [] },
 *   opset: 13,
 * });
 * console.assert(decodeModel(bytes).opsetImport[0].version === 13);
 * void DataType;
 * ```
 */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  return onnx.ModelProto.decode(bytes);
}

/** Encode a `GraphProto` holding only the given nodes, initializers and outputs, as field 7 of a `ModelProto`. */
export function encodeGraphField(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({ graph }).finish();
}
