import assert from "node:assert/strict";
import { ransac, requiredIterations } from "../../src/verify/ransac.ts";
import { mulberry32 } from "../../src/_rng.ts";

function apply(h: number[], x: number, y: number): [number, number] {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

/** n correspondences, the first `inliers` follow `h` (with small noise), the rest are random. */
function synth(h: number[], n: number, inliers: number, seed: number) {
  const r = mulberry32(seed);
  const src = new Float32Array(2 * n), dst = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x = r() * 640, y = r() * 480;
    src[2 * i] = x, src[2 * i + 1] = y;
    if (i < inliers) {
      const [u, v] = apply(h, x, y);
      dst[2 * i] = u + (r() - 0.5), dst[2 * i + 1] = v + (r() - 0.5);
    } else {
      dst[2 * i] = r() * 640, dst[2 * i + 1] = r() * 480;
    }
  }
  return { src, dst };
}

const AFFINE = [0.9, -0.2, 30, 0.15, 1.05, -12, 0, 0, 1];
const HOMOGRAPHY = [1.1, 0.05, -20, -0.03, 0.95, 15, 0.0002, -0.0001, 1];

Deno.test("ransac() recovers a known affine transform among 60% outliers", () => {
  const { src, dst } = synth(AFFINE, 200, 80, 1);
  const r = ransac(src, dst, { model: "affine", threshold: 5, seed: 3 });
  assert.ok(r.ok);
  assert.ok(r.inliers >= 78 && r.inliers <= 84, `inliers ${r.inliers}`);
  for (let i = 0; i < 80; i++) assert.equal(r.inlierMask[i], 1);
  r.transform!.matrix.forEach((v, i) =>
    assert.ok(Math.abs(v - AFFINE[i]) < (i % 3 === 2 ? 1 : 0.01), `m[${i}]=${v}`)
  );
});

Deno.test("ransac() recovers a known homography (normalised DLT) among 50% outliers", () => {
  const { src, dst } = synth(HOMOGRAPHY, 160, 80, 2);
  const r = ransac(src, dst, { model: "homography", threshold: 3, seed: 4 });
  assert.ok(r.ok);
  assert.ok(r.inliers >= 78, `inliers ${r.inliers}`);
  for (const [x, y] of [[0, 0], [640, 0], [320, 240], [640, 480]]) {
    const [u, v] = apply(r.transform!.matrix, x, y);
    const [eu, ev] = apply(HOMOGRAPHY, x, y);
    assert.ok(Math.hypot(u - eu, v - ev) < 1.5, `corner ${x},${y} off by ${Math.hypot(u - eu, v - ev)}`);
  }
});

Deno.test("ransac() is deterministic for a seed", () => {
  const { src, dst } = synth(AFFINE, 150, 40, 5);
  const a = ransac(src, dst, { seed: 11, refit: false, confidence: 0.9999 });
  const b = ransac(src, dst, { seed: 11, refit: false, confidence: 0.9999 });
  assert.deepEqual(a.transform, b.transform);
  assert.equal(a.iterations, b.iterations);
  assert.deepEqual(Array.from(a.inlierMask), Array.from(b.inlierMask));
});

Deno.test("ransac() exits early on the confidence bound when inliers dominate", () => {
  const { src, dst } = synth(AFFINE, 100, 95, 6);
  const r = ransac(src, dst, { threshold: 5, seed: 1, maxIterations: 1000 });
  assert.ok(r.ok);
  assert.ok(r.iterations < 20, `iterations ${r.iterations}`);
  // And runs all iterations when there is no structure at all.
  const noise = synth(AFFINE, 100, 0, 7);
  const r2 = ransac(noise.src, noise.dst, { threshold: 2, seed: 1, maxIterations: 300 });
  assert.equal(r2.iterations, 300);
  assert.equal(requiredIterations(0.99, 0.5, 3), Math.ceil(Math.log(0.01) / Math.log(1 - 0.125)));
});

Deno.test("ransac() rejects degenerate samples and reports too few points without throwing", () => {
  // All points on one line: every sample is degenerate.
  const n = 30;
  const src = new Float32Array(2 * n), dst = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    src[2 * i] = i * 10, src[2 * i + 1] = i * 5, dst[2 * i] = i * 9, dst[2 * i + 1] = i * 4;
  }
  const r = ransac(src, dst, { seed: 1, maxIterations: 50 });
  assert.equal(r.ok, false);
  assert.ok(r.degenerateSamples > 0);
  assert.match(r.reason!, /no consistent affine/);
  const few = ransac(new Float32Array([0, 0, 1, 1]), new Float32Array([0, 0, 1, 1]), { model: "homography" });
  assert.equal(few.ok, false);
  assert.match(few.reason!, /too few correspondences: 2 < 4/);
  assert.throws(() => ransac(new Float32Array(4), new Float32Array(6)), /Cannot run RANSAC as 'dst'/);
  assert.throws(() => ransac(src, dst, { threshold: -1 }), /'threshold' must be a positive number/);
});

Deno.test("plausibleTransform() rejects mirrors, big scale changes and strong anisotropy", async () => {
  const { plausibleTransform } = await import("../../src/verify/ransac.ts");
  assert.ok(plausibleTransform(AFFINE, 2, 2));
  assert.equal(plausibleTransform([-1, 0, 0, 0, 1, 0, 0, 0, 1], 2, 2), false); // mirror
  assert.equal(plausibleTransform([3, 0, 0, 0, 3, 0, 0, 0, 1], 2, 2), false); // 3x zoom
  assert.equal(plausibleTransform([0.3, 0, 0, 0, 0.3, 0, 0, 0, 1], 2, 2), false); // 1/3 zoom
  assert.equal(plausibleTransform([2, 0, 0, 0, 0.5, 0, 0, 0, 1], 2, 2), false); // anisotropy 4
  assert.ok(plausibleTransform([2, 0, 0, 0, 0.5, 0, 0, 0, 1], 2, 5));
  // A mirrored scene is not found when mirrors are implausible (the default rejects them).
  const { src, dst } = synth([-1, 0, 640, 0, 1, 0, 0, 0, 1], 100, 100, 8);
  assert.equal(ransac(src, dst, { threshold: 3, seed: 1 }).ok, false);
  assert.throws(() => ransac(src, dst, { plausible: { maxScale: 0.5, maxAnisotropy: 2 } }), /'plausible'/);
});

Deno.test("ransac() with local optimisation finds at least as many inliers under noise", () => {
  const r = mulberry32(9);
  const n = 300, src = new Float32Array(2 * n), dst = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const x = r() * 640, y = r() * 480;
    src[2 * i] = x, src[2 * i + 1] = y;
    const [u, v] = apply(AFFINE, x, y);
    const inlier = i < 150;
    dst[2 * i] = inlier ? u + 4 * (r() - 0.5) : r() * 640;
    dst[2 * i + 1] = inlier ? v + 4 * (r() - 0.5) : r() * 480;
  }
  // Every inlier is within 2.9 px of the true model; a 3-point fit on noisy points is not that good.
  const plain = ransac(src, dst, { threshold: 3, seed: 2, refit: false });
  const lo = ransac(src, dst, { threshold: 3, seed: 2, refit: false, localOptimization: 3 });
  assert.ok(lo.inliers > plain.inliers, `${lo.inliers} <= ${plain.inliers}`);
  assert.ok(lo.inliers >= 145, `LO inliers ${lo.inliers}`);
  assert.throws(() => ransac(src, dst, { localOptimization: -1 }), /'localOptimization'/);
});
