/** `verify` pictures: the verdict banner, inliers and outliers in two colours, the attention scale; the font. */
import assert from "node:assert/strict";
import {
  drawAttention,
  drawPair,
  INLIER_RGB,
  OUTLIER_RGB,
  type RgbCanvas,
  verdictText,
} from "../../src/verify/draw.ts";
import { textWidth } from "../../src/verify/_font.ts";
import type { PairVerification } from "../../src/verify/verifier.ts";
import type { DenseLocalFeatures, LocalFeatures, PixelImage } from "../../src/types.ts";

const grey = (w: number, h: number): PixelImage => ({
  width: w,
  height: h,
  channels: 1,
  data: new Uint8Array(w * h).fill(100),
});

function features(points: [number, number][]): LocalFeatures {
  return {
    count: points.length,
    dim: 2,
    keypoints: Float32Array.from(points.flat()),
    scales: new Float32Array(points.length).fill(1),
    attention: new Float32Array(points.length).fill(1),
    descriptors: new Float32Array(points.length * 2),
    imageWidth: 100,
    imageHeight: 80,
  };
}

function count(c: RgbCanvas, rgb: [number, number, number], y0 = 0): number {
  let n = 0;
  for (let i = y0 * c.width * 3; i < c.data.length; i += 3) {
    if (c.data[i] === rgb[0] && c.data[i + 1] === rgb[1] && c.data[i + 2] === rgb[2]) n++;
  }
  return n;
}

function result(ok: boolean, inlier: number[]): PairVerification {
  return {
    ok,
    inliers: inlier.filter(Boolean).length,
    matches: inlier.length,
    score: 0,
    correspondences: {
      query: Int32Array.from(inlier.map((_, i) => i)),
      candidate: Int32Array.from(inlier.map((_, i) => i)),
      inlier: Uint8Array.from(inlier),
    },
  };
}

Deno.test("verdict text states the verdict, the inliers against the threshold and the matches", () => {
  assert.equal(
    verdictText(result(true, [1, 1, 0]), { minInliers: 2 }),
    "VERIFIED: 2 INLIERS >= 2 OF 3 MATCHES",
  );
  assert.equal(
    verdictText(result(false, [1, 0, 0]), { minInliers: 2 }),
    "NOT VERIFIED: 1 INLIERS < 2 OF 3 MATCHES",
  );
  assert.equal(textWidth("AB", 2), 22);
});

Deno.test("drawPair: a green or red banner by verdict, inliers green and outliers red below it", () => {
  const fa = features([[10, 10], [50, 40], [90, 70]]), fb = features([[20, 60], [60, 20], [10, 75]]);
  const a = grey(100, 80), b = grey(100, 80);
  const yes = drawPair(a, b, fa, fb, result(true, [1, 1, 0]), { minInliers: 2, threshold: 20 });
  const no = drawPair(a, b, fa, fb, result(false, [1, 0, 0]), { minInliers: 2, threshold: 20 });
  const top = yes.height - 80;
  assert.ok(top > 10);
  assert.deepEqual([...yes.data.subarray(0, 3)], [20, 110, 40], "green banner");
  assert.deepEqual([...no.data.subarray(0, 3)], [150, 25, 25], "red banner");
  // The banner holds white text.
  assert.ok(
    count({ ...yes, height: top, data: yes.data.subarray(0, top * yes.width * 3) }, [255, 255, 255]) > 50,
  );
  // Below the banner: both colours of lines, more red in the picture with more outliers.
  assert.ok(count(yes, INLIER_RGB, top) > 0 && count(yes, OUTLIER_RGB, top) > 0);
  assert.ok(count(no, OUTLIER_RGB, top) > count(yes, OUTLIER_RGB, top));
  assert.ok(count(no, INLIER_RGB, top) < count(yes, INLIER_RGB, top));
});

Deno.test("drawAttention: the map with a colour scale beside it, labelled", () => {
  const img = grey(64, 48);
  const dense: DenseLocalFeatures = {
    gridWidth: 8,
    gridHeight: 6,
    dim: 1,
    stride: 8,
    offset: 4,
    imageWidth: 64,
    imageHeight: 48,
    descriptors: new Float32Array(48),
    attention: Float32Array.from({ length: 48 }, (_, i) => i / 47),
  };
  const c = drawAttention(img, dense);
  assert.equal(c.width, 64 + 64);
  // The bar: red at its top, blue at its bottom (column img.width + 8).
  const px = (x: number, y: number) => [...c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3)];
  const topPx = px(72, 12), bottomPx = px(72, 12 + Math.max(8, 48 - 24) - 1);
  assert.ok(topPx[0] > 100 && topPx[2] < 50, `top ${topPx}`);
  assert.ok(bottomPx[2] > 100 && bottomPx[0] < 50, `bottom ${bottomPx}`);
  // Black label ink right of the bar.
  let ink = 0;
  for (let y = 0; y < c.height; y++) {
    for (let x = 84; x < c.width; x++) if (px(x, y).every((v) => v === 0)) ink++;
  }
  assert.ok(ink > 20, `label ink ${ink}`);
});
