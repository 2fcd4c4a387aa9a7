/**
 * A minimal ONNX protobuf writer: just enough of `ModelProto` to build small inference graphs in memory
 * (the matcher's similarity graph, and tiny test models that follow the DELF contract). Writes
 * protobuf wire format directly; no dependency.
 *
 * @module
 */

/** ONNX tensor element types used here. */
export const OnnxType = { FLOAT: 1, INT64: 7 } as const;

/** A graph node: `opType(inputs) -> outputs` with integer, float or int-list attributes. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[] | { f: number }>;
}

/** A graph input or output: name, element type and shape (a string is a symbolic dimension). */
export interface OnnxValueInfo {
  name: string;
  elemType: number;
  shape: (number | string)[];
}

/** A constant float tensor baked into the graph. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** A whole model. */
export interface OnnxGraphSpec {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers?: OnnxInitializer[];
  /** Default opset 13. */
  opset?: number;
}

class Writer {
  bytes: number[] = [];
  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.bytes.push(x);
  }
  raw(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
  }
  str(field: number, s: string): void {
    this.raw(field, new TextEncoder().encode(s));
  }
  msg(field: number, build: (w: Writer) => void): void {
    const w = new Writer();
    build(w);
    this.raw(field, new Uint8Array(w.bytes));
  }
}

function valueInfo(w: Writer, v: OnnxValueInfo): void {
  w.str(1, v.name);
  w.msg(2, (t) =>
    t.msg(1, (tt) => {
      tt.int(1, v.elemType);
      tt.msg(2, (sh) => {
        for (const d of v.shape) {
          sh.msg(1, (dim) => typeof d === "number" ? dim.int(1, d) : dim.str(2, d));
        }
      });
    }));
}

/**
 * Serialise a graph spec to ONNX `ModelProto` bytes (IR version 8).
 *
 * @example
 * ```ts
 * import { buildOnnxModel, OnnxType } from "./_onnx_proto.ts";
 * const bytes = buildOnnxModel({
 *   name: "id", nodes: [{ opType: "Identity", inputs: ["x"], outputs: ["y"] }],
 *   inputs: [{ name: "x", elemType: OnnxType.FLOAT, shape: [1] }],
 *   outputs: [{ name: "y", elemType: OnnxType.FLOAT, shape: [1] }],
 * });
 * console.assert(bytes.length > 0);
 * ```
 */
export function buildOnnxModel(spec: OnnxGraphSpec): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version
  w.str(2, "waymark");
  w.msg(7, (g) => {
    spec.nodes.forEach((n, idx) =>
      g.msg(1, (nw) => {
        for (const i of n.inputs) nw.str(1, i);
        for (const o of n.outputs) nw.str(2, o);
        nw.str(3, `${n.opType}_${idx}`);
        nw.str(4, n.opType);
        for (const [name, value] of Object.entries(n.attributes ?? {})) {
          nw.msg(5, (a) => {
            a.str(1, name);
            if (Array.isArray(value)) {
              for (const v of value) a.int(8, v);
              a.int(20, 7); // INTS
            } else if (typeof value === "object") {
              a.float(2, value.f);
              a.int(20, 1); // FLOAT
            } else {
              a.int(3, value);
              a.int(20, 2); // INT
            }
          });
        }
      })
    );
    g.str(2, spec.name);
    for (const init of spec.initializers ?? []) {
      g.msg(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, OnnxType.FLOAT);
        t.str(8, init.name);
        t.raw(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const i of spec.inputs) g.msg(11, (v) => valueInfo(v, i));
    for (const o of spec.outputs) g.msg(12, (v) => valueInfo(v, o));
  });
  w.msg(8, (o) => {
    o.str(1, "");
    o.int(2, spec.opset ?? 13);
  });
  return new Uint8Array(w.bytes);
}
