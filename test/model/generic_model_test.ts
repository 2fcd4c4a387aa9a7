import assert from "node:assert/strict";
import { loadGenericModel, readGenericModelBundle } from "../../src/model/generic_model.ts";
import { sha256Hex } from "../../src/model/manifest.ts";

Deno.test("the shipped generic model loads, matches its manifest hash and describes an image", async () => {
  const bundle = await readGenericModelBundle();
  assert.equal(await sha256Hex(bundle.onnx), bundle.manifest.sha256);
  assert.ok(bundle.onnx.length < 2_000_000);
  const model = await loadGenericModel({ provider: "cpu" });
  try {
    const img = {
      width: 640,
      height: 480,
      channels: 1 as const,
      data: new Uint8Array(640 * 480).map((_, i) => (i * 7) % 251),
    };
    const out = await model.describe(img, { local: true });
    assert.equal(out.global.length, model.info.descriptorDim);
    assert.equal(out.local?.imageWidth, model.info.inputWidth);
  } finally {
    await model.close();
  }
});
