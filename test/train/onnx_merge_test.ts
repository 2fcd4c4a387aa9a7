import assert from "node:assert/strict";
import { TrainingError } from "../../src/errors.ts";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { createSession } from "../../src/model/runtime.ts";
import { appendHead, scanOnnx } from "../../src/train/onnx_merge.ts";

function backbone(opset = 17): Uint8Array {
  const g = new GraphBuilder("backbone");
  const x = g.input("image", ["N", 4]);
  g.output(g.op("Relu", [x]), "features", ["N", 4]);
  return g.toBytes({ opset });
}

function head(): Uint8Array {
  const g = new GraphBuilder("head");
  const x = g.input("features", ["N", 4]);
  g.output(g.op("Neg", [x]), "global", ["N", 4]);
  return g.toBytes({ opset: 17 });
}

Deno.test("scanOnnx() reads names, inputs, outputs and the opset", () => {
  const s = scanOnnx(backbone(13));
  assert.equal(s.opset, 13);
  assert.deepEqual(s.inputs, ["image"]);
  assert.deepEqual(s.outputs, ["features"]);
  assert.ok(s.names.has("image") && s.names.has("features"));
});

Deno.test("scanOnnx() rejects bytes that are not an ONNX model with a TrainingError naming them", () => {
  const good = backbone();
  for (
    const bad of [good.subarray(0, good.length - 3), new Uint8Array([0xff, 0xff, 0xff]), new Uint8Array(0)]
  ) {
    assert.throws(
      () => scanOnnx(bad, "my.onnx"),
      (e) => e instanceof TrainingError && /my\.onnx/.test(e.message),
    );
  }
});

Deno.test("appendHead() gives one model that runs backbone then head; collisions and opsets are refused", async () => {
  const merged = appendHead(backbone(), head(), "features", "bb");
  // The appended graph field merges into the backbone's (ONNX Runtime's C++ protobuf merges repeated
  // embedded messages; protobufjs would keep only the last one, so the check runs the model).
  const s = await createSession(merged, { provider: "cpu" });
  try {
    const out = await s.run({ image: { data: new Float32Array([1, -2, 3, -4]), dims: [1, 4] } });
    assert.deepEqual(Array.from(out.features.data as Float32Array), [1, 0, 3, 0]);
    assert.deepEqual(Array.from(out.global.data as Float32Array), [-1, -0, -3, -0]);
  } finally {
    await s.close();
  }
  assert.throws(() => appendHead(backbone(), head(), "nope", "bb"), /no output 'nope'/);
  assert.throws(() => appendHead(backbone(11), head(), "features", "bb"), /opset 11/);
  assert.throws(() => appendHead(backbone(), backbone(), "features", "bb"), TrainingError);
});
