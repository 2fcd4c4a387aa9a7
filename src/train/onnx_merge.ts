/**
 * Put a trained head on top of a bring-your-own backbone without decoding the backbone into objects: ONNX files
 * are protobuf, and protobuf merges a repeated occurrence of an embedded message field into the first one
 * (repeated fields are concatenated). Appending `graph { node*, initializer*, output }` of the head model to the
 * backbone's ModelProto bytes therefore yields one model whose graph holds both. This file scans the bytes
 * (names, opset, outputs) to check that the result is sound: the backbone output the head reads exists, no name
 * collides, and the backbone's default-domain opset is one under which the head's nodes mean the same (13..17:
 * the head uses opset-17 forms such as ReduceL2 with an `axes` attribute).
 *
 * @module
 */
import { TrainingError } from "../errors.ts";

interface Field {
  field: number;
  wire: number;
  /** Start of the tag. */
  start: number;
  /** End of the field (exclusive). */
  end: number;
  /** Payload of a length-delimited field. */
  data?: Uint8Array;
  /** Value of a varint field. */
  value?: number;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0, shift = 0, b: number;
  do {
    if (pos >= buf.length) throw new Error("truncated varint");
    b = buf[pos++];
    if (shift < 49) result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [result, pos];
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      yield { field, wire, start, end: pos, value: v };
    } else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      if (p2 + len > buf.length) throw new Error("truncated length-delimited field");
      pos = p2 + len;
      yield { field, wire, start, end: pos, data: buf.subarray(p2, pos) };
    } else if (wire === 5) {
      pos += 4;
      yield { field, wire, start, end: pos };
    } else if (wire === 1) {
      pos += 8;
      yield { field, wire, start, end: pos };
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
    if (pos > buf.length) throw new Error("truncated field");
  }
}

const dec = new TextDecoder();

/** What {@linkcode scanOnnx} finds in a model. */
export interface OnnxSummary {
  /** Default-domain opset version (0 when absent). */
  opset: number;
  inputs: string[];
  outputs: string[];
  /** Every tensor or node name in the graph (node outputs, node names, initializers, inputs). */
  names: Set<string>;
  /** Raw graph field slices by field number (1 node, 5 initializer, 11 input, 12 output). */
  graphFields: Map<number, Uint8Array[]>;
}

/** Scan ONNX ModelProto bytes. Throws TrainingError when they are not a readable ONNX model. */
export function scanOnnx(bytes: Uint8Array, label = "model"): OnnxSummary {
  try {
    let opset = 0;
    let graph: Uint8Array | null = null;
    for (const f of fields(bytes)) {
      if (f.field === 7 && f.data) graph = f.data; // (a second occurrence would be merged; we never read such files)
      if (f.field === 8 && f.data) {
        let domain = "", version = 0;
        for (const g of fields(f.data)) {
          if (g.field === 1 && g.data) domain = dec.decode(g.data);
          if (g.field === 2 && g.value !== undefined) version = g.value;
        }
        if (domain === "" || domain === "ai.onnx") opset = version;
      }
    }
    if (!graph) throw new Error("no graph");
    const names = new Set<string>();
    const inputs: string[] = [], outputs: string[] = [];
    const graphFields = new Map<number, Uint8Array[]>();
    for (const f of fields(graph)) {
      const raw = graph.subarray(f.start, f.end);
      graphFields.set(f.field, [...(graphFields.get(f.field) ?? []), raw]);
      if (!f.data) continue;
      if (f.field === 1) {
        for (const g of fields(f.data)) {
          if ((g.field === 2 || g.field === 3) && g.data) names.add(dec.decode(g.data));
        }
      } else if (f.field === 5) {
        for (const g of fields(f.data)) if (g.field === 8 && g.data) names.add(dec.decode(g.data));
      } else if (f.field === 11 || f.field === 12) {
        for (const g of fields(f.data)) {
          if (g.field === 1 && g.data) {
            const n = dec.decode(g.data);
            (f.field === 11 ? inputs : outputs).push(n);
            if (f.field === 11) names.add(n);
          }
        }
      }
    }
    return { opset, inputs, outputs, names, graphFields };
  } catch (e) {
    if (e instanceof TrainingError) throw e;
    throw new TrainingError(`${label} is not a readable ONNX model (${(e as Error).message})`, { cause: e });
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/**
 * Append the head model's graph (nodes, initializers, outputs; not its inputs) to the backbone's bytes. The
 * head's single input must be named like the backbone output it consumes (`featureOutput`).
 *
 * @throws {TrainingError} an unreadable model, a missing feature output, a name collision, or an opset outside
 *   13..17.
 */
export function appendHead(
  backbone: Uint8Array,
  head: Uint8Array,
  featureOutput: string,
  label = "backbone",
): Uint8Array {
  const b = scanOnnx(backbone, label);
  const h = scanOnnx(head, "head model");
  if (!b.outputs.includes(featureOutput)) {
    throw new TrainingError(`${label}: no output '${featureOutput}' (outputs: ${b.outputs.join(", ")})`);
  }
  if (b.opset < 13 || b.opset > 17) {
    throw new TrainingError(
      `${label}: default-domain opset ${b.opset} is not supported for a merged head: export the backbone with ` +
        `opset 13..17 (e.g. torch.onnx.export(..., opset_version=17))`,
    );
  }
  if (h.inputs.length !== 1 || h.inputs[0] !== featureOutput) {
    throw new TrainingError(
      `head model must have one input named '${featureOutput}', found ${h.inputs.join(", ")}`,
    );
  }
  for (const n of h.names) {
    if (n !== featureOutput && b.names.has(n)) {
      throw new TrainingError(`${label}: name '${n}' is used by both the backbone and the head`);
    }
  }
  for (const o of h.outputs) {
    if (b.outputs.includes(o)) {
      throw new TrainingError(`${label}: output '${o}' exists in both the backbone and the head`);
    }
  }
  const parts = [1, 5, 12].flatMap((f) => h.graphFields.get(f) ?? []);
  const len = parts.reduce((s, p) => s + p.length, 0);
  const header = [0x3a, ...varint(len)]; // field 7, wire type 2
  const out = new Uint8Array(backbone.length + header.length + len);
  out.set(backbone, 0);
  out.set(header, backbone.length);
  let pos = backbone.length + header.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
