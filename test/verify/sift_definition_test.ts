/**
 * The verifier's SIFT on the shared definition (`src/kernels/sift.ts`) gives the descriptors it gave before
 * (`fixtures/sift_v1.json`, computed by the verifier's own copy of the layout, window and normalisation): the
 * verification thresholds were measured with those descriptors.
 */
import assert from "node:assert/strict";
import { prepareImage } from "../../src/image/prepare.ts";
import { denseSift, resizeGray, toGray } from "../../src/verify/dense_sift.ts";
import { extractLocalFeatures } from "../../src/verify/local_features.ts";
import { cellWeight, rootSiftInPlace, SIFT_DIM, SIFT_WINDOW } from "../../src/kernels/sift.ts";
import { needsShared, sharedPath } from "../_shared.ts";

interface Fixture {
  images: {
    image: string;
    count: number;
    keypoints: number[];
    sparse: { index: number; descriptor: number[] }[];
    dense: { index: number; descriptor: number[] }[];
  }[];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test({
  name: "the verifier's SIFT gives the keypoints and descriptors it gave before the shared definition",
  ...needsShared(),
  fn: async () => {
    const fixture: Fixture = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/sift_v1.json", import.meta.url)),
    );
    for (const ref of fixture.images) {
      const img = await prepareImage(await Deno.readFile(sharedPath(ref.image)), {
        width: 320,
        height: 240,
        channels: 1,
      });
      const f = await extractLocalFeatures(img, { maxKeypoints: 300 });
      assert.equal(f.count, ref.count, ref.image);
      assert.deepEqual(Array.from(f.keypoints), ref.keypoints.map(Math.fround), ref.image);
      for (const s of ref.sparse) {
        const d = f.descriptors.subarray(s.index * SIFT_DIM, (s.index + 1) * SIFT_DIM);
        // The window's weights were written to 4 digits before; the descriptors move by float rounding only.
        assert.ok(maxAbsDiff(d, s.descriptor) < 1e-5, `${ref.image} keypoint ${s.index}`);
      }
      const g = resizeGray(toGray(img), img.width, img.height, 1);
      const dense = denseSift(g.gray, g.width, g.height);
      for (const s of ref.dense) {
        const d = dense.descriptors.subarray(s.index * SIFT_DIM, (s.index + 1) * SIFT_DIM);
        assert.deepEqual(Array.from(d), s.descriptor.map(Math.fround), `${ref.image} grid cell ${s.index}`);
      }
    }
  },
});

Deno.test("the shared SIFT tables: SIFT's Gaussian window and bilinear weights, RootSIFT rows of unit length", () => {
  // sigma = 2 cells over the 4x4 cells: corner exp(-4.5 / 8), centre exp(-0.5 / 8).
  assert.ok(Math.abs(SIFT_WINDOW[0] - Math.exp(-4.5 / 8)) < 1e-12);
  assert.ok(Math.abs(SIFT_WINDOW[5] - Math.exp(-0.5 / 8)) < 1e-12);
  assert.deepEqual([-0.75, -0.25, 0.25, 0.75, 1.5].map(cellWeight), [0.25, 0.75, 0.75, 0.25, 0]);
  const v = new Float32Array(2 * SIFT_DIM);
  v[SIFT_DIM] = 10; // one dominant bin is clipped at 0.2 before RootSIFT
  v[SIFT_DIM + 1] = 1;
  assert.equal(rootSiftInPlace(v, 0), false, "a flat patch stays zero");
  assert.ok(v.subarray(0, SIFT_DIM).every((x) => x === 0));
  assert.equal(rootSiftInPlace(v, SIFT_DIM), true);
  const row = v.subarray(SIFT_DIM);
  assert.ok(Math.abs(row.reduce((s, x) => s + x * x, 0) - 1) < 1e-6);
  // L2: 10 / |(10, 1)| = 0.995 -> 0.2; 1 / |(10, 1)| = 0.0995; L1 then sqrt.
  const a = 0.2, b = 1 / Math.hypot(10, 1);
  assert.ok(Math.abs(row[0] - Math.sqrt(a / (a + b))) < 1e-6);
  assert.ok(Math.abs(row[1] - Math.sqrt(b / (a + b))) < 1e-6);
});
