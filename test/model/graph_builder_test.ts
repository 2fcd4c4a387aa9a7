import assert from "node:assert/strict";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { DataType, encodeModel, floatAttr, floatsAttr } from "../../src/model/onnx_proto.ts";
import { createSession } from "../../src/model/runtime.ts";

Deno.test("encodeModel() writes attributes of every kind that onnxruntime reads back correctly", async () => {
  const g = new GraphBuilder("attrs");
  const x = g.input("x", ["N", 1, 2, 2]);
  // INTS (pads) + STRING (mode) + FLOAT (value)
  const padded = g.op("Pad", [
    x,
    g.constantInt64([0, 0, 1, 1, 0, 0, 1, 1], "pads"),
    g.constant([7], [], "pv"),
  ], {
    mode: "constant",
  });
  const leaky = g.op("LeakyRelu", [padded], { alpha: floatAttr(0.5) });
  // FLOATS via Constant.value_floats, TENSOR via Constant.value
  const floats = g.op("Constant", [], { value_floats: floatsAttr([1, 2, 3, 4]) });
  const tensor = g.op("Constant", [], {
    value: { kind: "tensor", value: { name: "t", dims: [1], data: new Float32Array([10]) } },
  });
  const ints = g.op("Constant", [], { value_ints: { kind: "ints", value: [4, 4] } });
  g.output(leaky, "y", ["N", 1, 4, 4]);
  g.output(g.add(floats, tensor), "z", [4]);
  g.output(g.op("Cast", [ints], { to: DataType.FLOAT }), "w", [2]);
  const s = await createSession(g.toBytes(), { provider: "cpu" });
  try {
    const out = await s.run({ x: { data: new Float32Array([-2, 1, 2, -4]), dims: [1, 1, 2, 2] } });
    assert.deepEqual(out.y.dims, [1, 1, 4, 4]);
    assert.deepEqual(Array.from(out.y.data.subarray(4, 8)), [7, -1, 1, 7]);
    assert.deepEqual(Array.from(out.z.data), [11, 12, 13, 14]);
    assert.deepEqual(Array.from(out.w.data), [4, 4]);
  } finally {
    await s.close();
  }
});

Deno.test("GraphBuilder.output() renames the producing node so outputs stay usable downstream", async () => {
  const g = new GraphBuilder("rename");
  const x = g.input("x", ["N", 3]);
  const r = g.output(g.relu(x), "r", ["N", 3]);
  g.output(g.scale(r, 2), "s", ["N", 3]);
  // An input exposed as an output needs an Identity node.
  g.output(x, "x_copy", ["N", 3]);
  const graph = g.toGraph();
  assert.equal(graph.nodes.filter((n) => n.opType === "Identity").length, 1);
  const s = await createSession(g.toBytes(), { provider: "cpu" });
  const out = await s.run({ x: { data: new Float32Array([-1, 2, 3]), dims: [1, 3] } });
  assert.deepEqual(Array.from(out.r.data), [0, 2, 3]);
  assert.deepEqual(Array.from(out.s.data), [0, 4, 6]);
  assert.deepEqual(Array.from(out.x_copy.data), [-1, 2, 3]);
  await s.close();
});

Deno.test("encodeModel() declares symbolic and fixed dimensions on inputs and outputs", async () => {
  const bytes = encodeModel({
    graph: {
      name: "dims",
      nodes: [{ opType: "Identity", inputs: ["a"], outputs: ["b"], name: "id" }],
      initializers: [],
      inputs: [{ name: "a", elemType: DataType.FLOAT, shape: ["batch", 5] }],
      outputs: [{ name: "b", elemType: DataType.FLOAT, shape: ["batch", 5] }],
    },
  });
  const s = await createSession(bytes, { provider: "cpu" });
  assert.deepEqual(s.inputs, [{ name: "a", type: "float32", shape: ["batch", 5] }]);
  await s.close();
});

Deno.test("encodeModel() rejects a tensor whose data does not match its dims", () => {
  assert.throws(
    () =>
      encodeModel({
        graph: {
          name: "bad",
          nodes: [],
          initializers: [{ name: "w", dims: [2, 2], data: new Float32Array(3) }],
          inputs: [],
          outputs: [],
        },
      }),
    /Tensor 'w' has 3 values but dims \[2,2\]/,
  );
});
