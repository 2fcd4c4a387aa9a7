/**
 * Put a trained head on top of a bring-your-own backbone without re-encoding the backbone: ONNX files are
 * protobuf, and protobuf merges a repeated occurrence of an embedded message field into the first one (repeated
 * fields are concatenated). Appending `graph { node*, initializer*, output }` of the head model (encoded by
 * `onnx-proto`, `src/model/onnx_proto.ts`) to the backbone's ModelProto bytes therefore yields one model whose
 * graph holds both. Both models are decoded with the ONNX schema (`decodeModel`; tensor bytes stay views into
 * the input) to check that the result is sound: the backbone output the head reads exists, no name
 * collides, and the backbone's default-domain opset is one under which the head's nodes mean the same (13..17:
 * the head uses opset-17 forms such as ReduceL2 with an `axes` attribute).
 *
 * @module
 */
import { TrainingError } from "../errors.ts";
import { type DecodedModel, decodeModel, encodeGraphField } from "../model/onnx_proto.ts";

/** What {@linkcode scanOnnx} finds in a model. */
export interface OnnxSummary {
  /** Default-domain opset version (0 when absent). */
  opset: number;
  inputs: string[];
  outputs: string[];
  /** Every tensor or node name in the graph (node outputs, node names, initializers, inputs). */
  names: Set<string>;
  /** The decoded model (its graph's nodes, initializers and outputs are what a head contributes). */
  model: DecodedModel;
}

/** Scan ONNX ModelProto bytes. Throws TrainingError when they are not a readable ONNX model. */
export function scanOnnx(bytes: Uint8Array, label = "model"): OnnxSummary {
  let model: DecodedModel;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new TrainingError(`${label} is not a readable ONNX model (${(e as Error).message})`, { cause: e });
  }
  const graph = model.graph;
  if (!graph) throw new TrainingError(`${label} is not a readable ONNX model (no graph)`);
  let opset = 0;
  for (const o of model.opsetImport) {
    // int64 fields decode as Long objects (protobufjs with long.js) or numbers.
    if (o.domain === "" || o.domain === "ai.onnx") opset = Number(o.version?.toString() ?? 0);
  }
  const names = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const o of n.output ?? []) names.add(o);
    if (n.name) names.add(n.name);
  }
  for (const t of graph.initializer ?? []) if (t.name) names.add(t.name);
  const inputs = (graph.input ?? []).map((v) => v.name ?? "");
  for (const i of inputs) names.add(i);
  const outputs = (graph.output ?? []).map((v) => v.name ?? "");
  return { opset, inputs, outputs, names, model };
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
  const g = h.model.graph!;
  const tail = encodeGraphField({ node: g.node, initializer: g.initializer, output: g.output });
  const out = new Uint8Array(backbone.length + tail.length);
  out.set(backbone, 0);
  out.set(tail, backbone.length);
  return out;
}
