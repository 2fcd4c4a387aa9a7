/**
 * A small typed builder for ONNX graphs: each method adds one node, names it automatically and returns the
 * name of its output, so graphs read like the maths they compute.
 *
 * @module
 */
import {
  type AttributeValue,
  DataType,
  type DataTypeCode,
  encodeModel,
  floatAttr,
  type GraphDef,
  type NodeDef,
  type TensorDef,
  type ValueInfoDef,
} from "./onnx_proto.ts";

/** Convolution options (ONNX `Conv` attributes). */
export interface ConvOptions {
  strides?: [number, number];
  /** [top, left, bottom, right]. */
  pads?: [number, number, number, number];
  dilations?: [number, number];
  group?: number;
}

/**
 * Builds an ONNX graph node by node.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * const g = new GraphBuilder("l2");
 * const x = g.input("x", ["N", 8]);
 * g.output(g.l2Normalize(x, 1), "y", ["N", 8]);
 * const onnx = g.toBytes();
 * console.assert(onnx.length > 0);
 * ```
 */
export class GraphBuilder {
  readonly name: string;
  #nodes: NodeDef[] = [];
  #inits: TensorDef[] = [];
  #inputs: ValueInfoDef[] = [];
  #outputs: ValueInfoDef[] = [];
  #counter = new Map<string, number>();

  constructor(name: string) {
    this.name = name;
  }

  #fresh(prefix: string): string {
    const n = (this.#counter.get(prefix) ?? 0) + 1;
    this.#counter.set(prefix, n);
    return `${prefix}_${n}`;
  }

  /** Add a node of any op type; returns its single output name. */
  op(opType: string, inputs: string[], attributes?: Record<string, AttributeValue>): string {
    const name = this.#fresh(opType.toLowerCase());
    const out = `${name}_out`;
    this.#nodes.push({ opType, inputs, outputs: [out], name, attributes });
    return out;
  }

  /** Add a node with `count` outputs (e.g. TopK's values and indices); returns their names. */
  opOutputs(
    opType: string,
    inputs: string[],
    count: number,
    attributes?: Record<string, AttributeValue>,
  ): string[] {
    const name = this.#fresh(opType.toLowerCase());
    const outs = Array.from({ length: count }, (_, i) => `${name}_out${i}`);
    this.#nodes.push({ opType, inputs, outputs: outs, name, attributes });
    return outs;
  }

  /** Declare a float32 graph input (string dims are dynamic). */
  input(name: string, shape: (number | string)[], elemType: DataTypeCode = DataType.FLOAT): string {
    this.#inputs.push({ name, elemType, shape });
    return name;
  }

  /**
   * Expose `value` as a named graph output. When a node of this graph produced `value` and it is not already an
   * output, that node's output is renamed (no copy); otherwise an Identity node gives it the public name.
   * Use the returned name for later references.
   */
  output(
    value: string,
    name: string,
    shape: (number | string)[],
    elemType: DataTypeCode = DataType.FLOAT,
  ): string {
    const producer = this.#nodes.find((n) => n.outputs.includes(value));
    const isOutput = this.#outputs.some((o) => o.name === value);
    if (producer && !isOutput) {
      producer.outputs = producer.outputs.map((o) => (o === value ? name : o));
      for (const n of this.#nodes) n.inputs = n.inputs.map((i) => (i === value ? name : i));
    } else {
      this.#nodes.push({ opType: "Identity", inputs: [value], outputs: [name], name: `output_${name}` });
    }
    this.#outputs.push({ name, elemType, shape });
    return name;
  }

  /** A float32 constant (initializer). */
  constant(data: Float32Array | number[], dims: number[], prefix = "const"): string {
    const name = this.#fresh(prefix);
    this.#inits.push({ name, dims, data: data instanceof Float32Array ? data : new Float32Array(data) });
    return name;
  }

  /** An int64 constant (shapes, axes). */
  constantInt64(values: number[], prefix = "shape"): string {
    const name = this.#fresh(prefix);
    this.#inits.push({ name, dims: [values.length], data: values, dataType: DataType.INT64 });
    return name;
  }

  /** 2D convolution; `bias` optional. */
  conv(x: string, weight: string, bias?: string | null, options: ConvOptions = {}): string {
    const attrs: Record<string, AttributeValue> = {};
    if (options.strides) attrs.strides = options.strides;
    if (options.pads) attrs.pads = options.pads;
    if (options.dilations) attrs.dilations = options.dilations;
    if (options.group) attrs.group = options.group;
    return this.op("Conv", bias ? [x, weight, bias] : [x, weight], attrs);
  }
  /** Matrix product (numpy semantics). */
  matmul(a: string, b: string): string {
    return this.op("MatMul", [a, b]);
  }
  /** Element-wise a + b. */
  add(a: string, b: string): string {
    return this.op("Add", [a, b]);
  }
  /** Element-wise a - b. */
  sub(a: string, b: string): string {
    return this.op("Sub", [a, b]);
  }
  /** Element-wise a * b. */
  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }
  /** Element-wise a / b. */
  div(a: string, b: string): string {
    return this.op("Div", [a, b]);
  }
  /** Element-wise max. */
  max(a: string, b: string): string {
    return this.op("Max", [a, b]);
  }
  /** Element-wise sqrt. */
  sqrt(x: string): string {
    return this.op("Sqrt", [x]);
  }
  /** Element-wise abs. */
  abs(x: string): string {
    return this.op("Abs", [x]);
  }
  /** Element-wise sign. */
  sign(x: string): string {
    return this.op("Sign", [x]);
  }
  /** Rectified linear unit. */
  relu(x: string): string {
    return this.op("Relu", [x]);
  }
  /** Softmax over `axis`. */
  softmax(x: string, axis: number): string {
    return this.op("Softmax", [x], { axis });
  }
  /** Transpose with permutation. */
  transpose(x: string, perm: number[]): string {
    return this.op("Transpose", [x], { perm });
  }
  /** Reshape to `shape` (0 copies a dim, -1 infers one). */
  reshape(x: string, shape: number[]): string {
    return this.op("Reshape", [x, this.constantInt64(shape)]);
  }
  /** Concatenate along `axis`. */
  concat(xs: string[], axis: number): string {
    return this.op("Concat", xs, { axis });
  }
  /** Slice along the given axes. */
  slice(x: string, starts: number[], ends: number[], axes: number[]): string {
    return this.op("Slice", [
      x,
      this.constantInt64(starts, "starts"),
      this.constantInt64(ends, "ends"),
      this.constantInt64(axes, "axes"),
    ]);
  }
  /** Sum over axes (opset 13+: axes as input). */
  reduceSum(x: string, axes: number[], keepdims = true): string {
    return this.op("ReduceSum", [x, this.constantInt64(axes, "axes")], { keepdims: keepdims ? 1 : 0 });
  }
  /** L2 norm over axes (opset 17: axes attribute). */
  reduceL2(x: string, axes: number[], keepdims = true): string {
    return this.op("ReduceL2", [x], { axes, keepdims: keepdims ? 1 : 0 });
  }
  /** x / max(||x||_2 over axis, eps): PyTorch `F.normalize` semantics. */
  l2Normalize(x: string, axis: number, eps = 1e-12): string {
    const norm = this.reduceL2(x, [axis]);
    return this.div(x, this.max(norm, this.constant([eps], [], "eps")));
  }
  /** x / max(sum |x| over axis, eps). */
  l1Normalize(x: string, axis: number, eps = 1e-12): string {
    const norm = this.reduceSum(this.abs(x), [axis]);
    return this.div(x, this.max(norm, this.constant([eps], [], "eps")));
  }
  /** Average pooling. */
  averagePool(x: string, kernel: [number, number], strides: [number, number], pads?: number[]): string {
    const attrs: Record<string, AttributeValue> = { kernel_shape: kernel, strides };
    if (pads) attrs.pads = pads;
    return this.op("AveragePool", [x], attrs);
  }
  /** Multiply by a scalar. */
  scale(x: string, s: number): string {
    return this.mul(x, this.constant([s], [], "scale"));
  }
  /** Leaky ReLU helper kept for completeness of the float attribute path. */
  leakyRelu(x: string, alpha: number): string {
    return this.op("LeakyRelu", [x], { alpha: floatAttr(alpha) });
  }

  /** The graph definition so far. */
  toGraph(): GraphDef {
    return {
      name: this.name,
      nodes: [...this.#nodes],
      initializers: [...this.#inits],
      inputs: [...this.#inputs],
      outputs: [...this.#outputs],
    };
  }

  /** Serialise to ONNX bytes (opset 17 by default). */
  toBytes(
    options: { opset?: number; docString?: string; metadata?: Record<string, string> } = {},
  ): Uint8Array {
    return encodeModel({
      graph: this.toGraph(),
      opset: options.opset,
      docString: options.docString,
      metadata: options.metadata,
    });
  }
}
