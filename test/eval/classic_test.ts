import assert from "node:assert/strict";
import {
  classicLocalDescriptors,
  ClassicVladModel,
  fitClassicVocabulary,
  gridKeypoints,
  resizeArea,
  rootSift,
  siftDescriptors,
  vladHard,
} from "../../src/eval/classic.ts";
import { mulberry32 } from "../../src/_rng.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/opencv46_sift_grid.json", import.meta.url)),
) as { width: number; height: number; gray: string; descriptors: string };
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("classic: grid SIFT matches OpenCV 4.6 SIFT::compute at KeyPoint(x, y, 16) (within 1 level)", () => {
  const { width: w, height: h } = fixture;
  const gray = Float32Array.from(b64(fixture.gray));
  const ref = b64(fixture.descriptors);
  const { xs, ys } = gridKeypoints(w, h);
  assert.equal(xs.length * 128, ref.length);
  const mine = siftDescriptors(gray, w, h, xs, ys);
  let exact = 0, maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(mine[i] - ref[i]);
    maxDiff = Math.max(maxDiff, d);
    if (d === 0) exact++;
  }
  assert.ok(maxDiff <= 1, `max difference ${maxDiff}`);
  assert.ok(exact / ref.length > 0.99, `exact fraction ${exact / ref.length}`);
});

Deno.test("classic: grid keypoints start 8 px from the border with stride 8", () => {
  const { xs, ys } = gridKeypoints(32, 24);
  assert.deepEqual(Array.from(xs), [8, 16, 24, 8, 16, 24]);
  assert.deepEqual(Array.from(ys), [8, 8, 8, 16, 16, 16]);
});

Deno.test("classic: area resize averages the covered pixels", () => {
  const img = {
    width: 4,
    height: 2,
    channels: 1 as const,
    data: new Uint8Array([0, 100, 200, 40, 10, 30, 50, 70]),
  };
  const r = resizeArea(img, 2, 1);
  assert.deepEqual(Array.from(r.data), [35, 90]);
  // 3 -> 2: the middle pixel is shared half and half.
  const t = resizeArea({ width: 3, height: 1, channels: 1, data: new Uint8Array([0, 90, 180]) }, 2, 1);
  assert.deepEqual(Array.from(t.data), [30, 150]);
});

Deno.test("classic: RootSIFT is the square root of the L1-normalised row", () => {
  const d = rootSift(new Float32Array([1, 3, 0, 0, 0, 0, 0, 0]), 4);
  assert.ok(Math.abs(d[0] - 0.5) < 1e-6 && Math.abs(d[1] - Math.sqrt(0.75)) < 1e-6);
  assert.deepEqual(Array.from(d.subarray(4)), [0, 0, 0, 0]);
});

Deno.test("classic: VLAD assigns each row to its nearest centre only, intra-normalises, then L2", () => {
  // Two centres in 2-d; rows near centre 0 and one row near centre 1.
  const centres = new Float32Array([0, 0, 10, 10]);
  const desc = new Float32Array([1, 0, 0, 3, 11, 10]);
  const v = vladHard(desc, centres, 2);
  // Block 0: residuals (1,0)+(0,3) = (1,3) -> unit (1,3)/sqrt(10); block 1: (1,0) -> (1,0); then / sqrt(2).
  const s = Math.SQRT1_2;
  const want = [s / Math.sqrt(10), 3 * s / Math.sqrt(10), s, 0];
  want.forEach((w, i) => assert.ok(Math.abs(v[i] - w) < 1e-6, `v[${i}] ${v[i]} vs ${w}`));
  // Hard: moving the far row does not change block 0 at all.
  const v2 = vladHard(new Float32Array([1, 0, 0, 3, 12, 9]), centres, 2);
  assert.ok(Math.abs(v2[0] - v[0]) < 1e-7 && Math.abs(v2[1] - v[1]) < 1e-7);
  // An empty block stays zero and the vector keeps unit norm.
  const v3 = vladHard(new Float32Array([1, 0]), centres, 2);
  assert.deepEqual(Array.from(v3), [1, 0, 0, 0]);
});

Deno.test("classic: the model describes any image size with a unit 8192-d vector", async () => {
  const r = mulberry32(5);
  const img = (w: number, h: number) => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
    return { width: w, height: h, channels: 3 as const, data };
  };
  const locals = [img(96, 72), img(160, 120)].map(classicLocalDescriptors);
  // 320 x 240 after the resize: 39 x 29 keypoints.
  assert.equal(locals[0].length, 39 * 29 * 128);
  const model = new ClassicVladModel(fitClassicVocabulary(locals, { clusters: 64, maxIterations: 3 }));
  const { global } = await model.describe(img(64, 48));
  assert.equal(global.length, 8192);
  assert.ok(Math.abs(global.reduce((s, x) => s + x * x, 0) - 1) < 1e-4);
});
