import assert from "node:assert/strict";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { MANIFEST_FORMAT, type ModelManifest, sha256Hex } from "../../src/model/manifest.ts";
import { loadModel, loadModelBundle, saveModelBundle } from "../../src/model/onnx_model.ts";
import { ModelLoadError } from "../../src/errors.ts";
import type { PixelImage } from "../../src/types.ts";

/** A tiny "bring your own" model: NCHW RGB image -> global average pool -> linear -> [N, 8]. */
function tinyModel(outDim = 8): Uint8Array {
  const g = new GraphBuilder("tiny");
  const x = g.input("pixels", ["N", 3, 32, 32]);
  const pooled = g.reshape(g.op("GlobalAveragePool", [x]), [0, 3]);
  const w = new Float32Array(3 * outDim).map((_, i) => Math.sin(i + 1));
  g.output(g.matmul(pooled, g.constant(w, [3, outDim])), "embedding", ["N", outDim]);
  return g.toBytes();
}

async function manifestFor(onnx: Uint8Array, patch: Partial<ModelManifest> = {}): Promise<ModelManifest> {
  return {
    format: MANIFEST_FORMAT,
    formatVersion: 1,
    name: "tiny-byo",
    file: "tiny.onnx",
    sha256: await sha256Hex(onnx),
    input: {
      name: "pixels",
      width: 32,
      height: 32,
      channels: 3,
      layout: "NCHW",
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    },
    outputs: { global: { name: "embedding", dim: 8 } },
    descriptorDim: 8,
    created: "2026-01-01T00:00:00Z",
    description: "test model",
    ...patch,
  };
}

function image(w: number, h: number, seed: number): PixelImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed * 37 + seed * 11) % 256;
  return { width: w, height: h, channels: 3, data };
}

Deno.test("a bring-your-own ONNX model with a manifest loads from a folder and gives unit-norm descriptors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const onnx = tinyModel();
    await saveModelBundle(dir, { manifest: await manifestFor(onnx), onnx });
    const model = await loadModel(dir, { provider: "cpu" });
    try {
      assert.equal(model.info.descriptorDim, 8);
      assert.equal(model.info.name, "tiny-byo");
      assert.equal(model.info.id, await sha256Hex(onnx));
      assert.equal(model.info.provider, "cpu");
      const [a, b] = await model.describeBatch([image(64, 48, 1), image(32, 32, 2)]);
      assert.equal(a.global.length, 8);
      assert.ok(Math.abs(Math.hypot(...a.global) - 1) < 1e-5);
      assert.notDeepEqual(a.global, b.global);
      const single = await model.describe(image(64, 48, 1));
      assert.deepEqual(
        Array.from(single.global).map((v) => v.toFixed(5)),
        Array.from(a.global).map((v) => v.toFixed(5)),
      );
      // No local output: local is silently absent.
      assert.equal((await model.describe(image(32, 32, 3), { local: true })).local, undefined);
      assert.equal(model.stats().runs, 3);
    } finally {
      await model.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model whose output size differs from its manifest is a ModelLoadError naming file, expected and found", async () => {
  const onnx = tinyModel(6);
  const manifest = await manifestFor(onnx);
  await assert.rejects(
    () => loadModelBundle({ manifest, onnx }, { provider: "cpu", label: "models/tiny.onnx" }),
    (e: unknown) =>
      e instanceof ModelLoadError && /models\/tiny\.onnx/.test(e.message) && /must be 8/.test(e.message) &&
      /found 6/.test(e.message),
  );
});

Deno.test("a manifest naming an output the model lacks is a ModelLoadError listing what the model has", async () => {
  const onnx = tinyModel();
  const manifest = await manifestFor(onnx, { outputs: { global: { name: "descriptor", dim: 8 } } });
  await assert.rejects(
    () => loadModelBundle({ manifest, onnx }, { provider: "cpu" }),
    /expects output 'descriptor', the model has embedding float32\[N,8\]/,
  );
  const wrongInput = await manifestFor(onnx, {
    input: {
      name: "pixels",
      width: 64,
      height: 32,
      channels: 3,
      layout: "NCHW",
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
  });
  await assert.rejects(
    () => loadModelBundle({ manifest: wrongInput, onnx }, { provider: "cpu" }),
    /dimension 3 must be 64/,
  );
});

Deno.test("loadModel() refuses a file whose sha256 differs from the manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const onnx = tinyModel();
    await saveModelBundle(dir, { manifest: await manifestFor(onnx), onnx });
    await Deno.writeFile(`${dir}/tiny.onnx`, tinyModel(8).map((b, i) => (i === 40 ? b ^ 1 : b)));
    await assert.rejects(() => loadModel(dir, { provider: "cpu" }), /sha256 mismatch/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadModel() explains a missing folder, a missing manifest and an invalid manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => loadModel(`${dir}/nope`), /no such file or folder/);
    await assert.rejects(() => loadModel(dir), /has no manifest\.json/);
    await Deno.writeTextFile(`${dir}/manifest.json`, "{ not json");
    await assert.rejects(
      () => loadModel(dir),
      (e: unknown) => e instanceof ModelLoadError && /invalid JSON/.test(e.message),
    );
    const onnx = tinyModel();
    const bad = { ...(await manifestFor(onnx)), descriptorDim: 9 };
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(bad));
    await assert.rejects(() => loadModel(dir), /'descriptorDim' \(9\) must equal 'outputs.global.dim' \(8\)/);
    const noMean = { ...(await manifestFor(onnx)), input: { ...(await manifestFor(onnx)).input, mean: [0] } };
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(noMean));
    await assert.rejects(() => loadModel(dir), /'input.mean' must be 3 numbers/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
