import assert from "node:assert/strict";
import { checkDelfContract, denseFromOutputs, loadDelfModel } from "../../src/verify/delf_contract.ts";
import { extractLocalFeatures } from "../../src/verify/local_features.ts";
import { verifyPair } from "../../src/verify/verifier.ts";
import { ModelLoadError, ValidationError } from "../../src/errors.ts";
import { blankImage, shifted, texturedImage } from "./_synthetic.ts";
import { CONTRACT, D, filters, K, modelDir, tinyDelf } from "./_tiny_delf.ts";

/** The tiny model's feature at grid cell (gx, gy) of a grey image, in TypeScript. */
function featureAt(img: { width: number; data: Uint8Array }, gx: number, gy: number): Float32Array {
  const w = filters(), out = new Float32Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let y = 0; y < K; y++) {
      for (let x = 0; x < K; x++) {
        s += w[d * K * K + y * K + x] * img.data[(gy * K + y) * img.width + gx * K + x] / 255;
      }
    }
    out[d] = s;
  }
  return out;
}

Deno.test("DELF contract: a tiny generated ONNX model's feature and attention maps drive keypoint selection", async () => {
  const dir = await modelDir();
  const delf = await loadDelfModel(dir);
  try {
    const img = texturedImage(256, 192, 21);
    const f = await extractLocalFeatures(img, { extractor: delf.extractor, scales: [1], maxKeypoints: 200 });
    assert.ok(f.count > 50 && f.count <= 200, `count ${f.count}`);
    assert.equal(f.dim, D);
    for (let i = 0; i < f.count; i++) {
      // Receptive-field centres: 3.5 + 8 g.
      const gx = (f.keypoints[2 * i] - 3.5) / 8, gy = (f.keypoints[2 * i + 1] - 3.5) / 8;
      assert.ok(
        Number.isInteger(gx) && Number.isInteger(gy),
        `keypoint ${f.keypoints[2 * i]},${f.keypoints[2 * i + 1]}`,
      );
      // The model's attention (squared feature norm) is the keypoint's score, and the descriptor is the
      // model's feature, L2-normalised.
      const ref = featureAt(img, gx, gy);
      let n2 = 0;
      for (const v of ref) n2 += v * v;
      assert.ok(
        Math.abs(f.attention[i] - n2) < 1e-3 * Math.max(1, n2),
        `attention ${f.attention[i]} vs ${n2}`,
      );
      for (let d = 0; d < D; d++) {
        assert.ok(Math.abs(f.descriptors[i * D + d] - ref[d] / Math.sqrt(n2)) < 1e-3);
      }
    }
    for (let i = 1; i < f.count; i++) assert.ok(f.attention[i] <= f.attention[i - 1]);
    // Blank image: zero attention everywhere, so no keypoints, and verification says so.
    const blank = await extractLocalFeatures(blankImage(256, 192), { extractor: delf.extractor });
    assert.equal(blank.count, 0);
    assert.match(verifyPair(blank, f).reason ?? "", /no keypoints/);
  } finally {
    await delf.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DELF contract: the model runs on every pyramid level and verifies a translated copy", async () => {
  const delf = await loadDelfModel(tinyDelf(), { ...CONTRACT, file: undefined });
  try {
    const a = texturedImage(320, 240, 22), b = shifted(a, 24, -16);
    const fa = await extractLocalFeatures(a, { extractor: delf.extractor, maxKeypoints: 400 });
    const fb = await extractLocalFeatures(b, { extractor: delf.extractor, maxKeypoints: 400 });
    assert.ok(new Set(fa.scales).size >= 2, `scales ${[...new Set(fa.scales)]}`);
    // Half-scale level: centres at (3.5 + 8 g) * 2 in the full image.
    for (let i = 0; i < fa.count; i++) {
      if (fa.scales[i] !== 0.5) continue;
      assert.ok(Number.isInteger((fa.keypoints[2 * i] / 2 - 3.5) / 8));
    }
    const r = verifyPair(fb, fa, { minInliers: 20 });
    assert.ok(r.ok, JSON.stringify({ ...r, correspondences: undefined }));
    const m = r.transform!.matrix; // b -> a: x_a = x_b - 24, y_a = y_b + 16
    assert.ok(Math.abs(m[2] + 24) < 4 && Math.abs(m[5] - 16) < 4, `matrix ${m}`);
  } finally {
    await delf.close();
  }
});

Deno.test("DELF contract: missing outputs, bad shapes and bad fields are clear errors", async () => {
  const dir = await modelDir(tinyDelf("scores"));
  try {
    await assert.rejects(() => loadDelfModel(dir), (e: Error) => {
      assert.ok(e instanceof ModelLoadError);
      assert.match(e.message, /no output 'attention' \(it has: features, scores\)/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(() => loadDelfModel("/nonexistent/delf"), ModelLoadError);
  assert.throws(() => checkDelfContract({ ...CONTRACT, stride: 0 }), /'stride'/);
  assert.throws(
    () => checkDelfContract({ ...CONTRACT, input: { name: "x", channels: 2 as 1 } }),
    ValidationError,
  );
  assert.throws(
    () => checkDelfContract({ ...CONTRACT, input: { name: "x", channels: 3, mean: [0.5] } }),
    /'input.mean'/,
  );
  const feat = { data: new Float32Array(2 * 3 * 4), dims: [1, 2, 3, 4] };
  assert.throws(
    () => denseFromOutputs(feat, { data: new Float32Array(12), dims: [1, 1, 4, 3] }, CONTRACT, 32, 24),
    /output 'attention' must be one score per feature location/,
  );
  const ok = denseFromOutputs(
    feat,
    { data: new Float32Array(12).fill(-1), dims: [1, 3, 4] },
    CONTRACT,
    32,
    24,
  );
  assert.equal(ok.gridWidth, 4);
  assert.equal(ok.gridHeight, 3);
  assert.ok(ok.attention!.every((v) => v === 0)); // negative scores clamp to zero
});
