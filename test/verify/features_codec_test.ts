import assert from "node:assert/strict";
import {
  decodeLocalFeatures,
  decodePca,
  encodeLocalFeatures,
  encodePca,
} from "../../src/verify/features_codec.ts";
import { fitPca } from "../../src/verify/pca.ts";
import { mulberry32 } from "../../src/_rng.ts";
import type { LocalFeatures } from "../../src/types.ts";

function randomFeatures(count: number, dim: number, seed: number): LocalFeatures {
  const r = mulberry32(seed);
  const descriptors = new Float32Array(count * dim).map(() => r() - 0.5);
  for (let i = 0; i < count; i++) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += descriptors[i * dim + k] ** 2;
    for (let k = 0; k < dim; k++) descriptors[i * dim + k] /= Math.sqrt(n);
  }
  return {
    count,
    dim,
    keypoints: new Float32Array(2 * count).map(() => r() * 640),
    scales: new Float32Array(count).map((_, i) => [1, 0.7071, 0.5][i % 3]),
    attention: new Float32Array(count).map(() => r()),
    descriptors,
    imageWidth: 640,
    imageHeight: 480,
  };
}

Deno.test("encodeLocalFeatures() round-trips keypoints exactly and descriptors within int8 error", () => {
  const f = randomFeatures(257, 40, 1);
  const blob = encodeLocalFeatures(f);
  assert.equal(blob.length, 20 + 257 * (20 + 40));
  const g = decodeLocalFeatures(blob);
  assert.equal(g.count, 257);
  assert.equal(g.dim, 40);
  assert.equal(g.imageWidth, 640);
  assert.deepEqual(Array.from(g.keypoints), Array.from(f.keypoints));
  assert.deepEqual(Array.from(g.scales), Array.from(f.scales));
  assert.deepEqual(Array.from(g.attention), Array.from(f.attention));
  for (let i = 0; i < f.count; i++) {
    let dot = 0;
    for (let k = 0; k < 40; k++) dot += f.descriptors[i * 40 + k] * g.descriptors[i * 40 + k];
    assert.ok(dot > 0.999, `row ${i} cosine ${dot}`);
  }
});

Deno.test("encodeLocalFeatures() handles zero keypoints", () => {
  const g = decodeLocalFeatures(encodeLocalFeatures(randomFeatures(0, 40, 2)));
  assert.equal(g.count, 0);
  assert.equal(g.descriptors.length, 0);
});

Deno.test("decodeLocalFeatures() rejects bad magic, unknown version and truncation with MapFormatError", () => {
  const blob = encodeLocalFeatures(randomFeatures(5, 8, 3));
  assert.throws(() => decodeLocalFeatures(blob.slice(0, blob.length - 1)), {
    name: "MapFormatError",
    message: /does not match 5 keypoints/,
  });
  const bad = blob.slice();
  bad[0] = 0;
  assert.throws(() => decodeLocalFeatures(bad), { name: "MapFormatError", message: /bad magic/ });
  const v2 = blob.slice();
  v2[4] = 2;
  assert.throws(() => decodeLocalFeatures(v2), { name: "MapFormatError", message: /unknown version 2/ });
  assert.throws(() => decodeLocalFeatures(new Uint8Array(3)), /shorter than/);
});

Deno.test("encodePca() round-trips a fitted projection", () => {
  const f = randomFeatures(300, 16, 4);
  const pca = fitPca(f.descriptors, 16, { outputDim: 6 });
  const back = decodePca(encodePca(pca));
  assert.equal(back.inputDim, 16);
  assert.equal(back.outputDim, 6);
  assert.deepEqual(Array.from(back.components), Array.from(pca.components));
  assert.deepEqual(Array.from(back.mean), Array.from(pca.mean));
  assert.throws(() => decodePca(new Uint8Array(20)), { name: "MapFormatError" });
});
