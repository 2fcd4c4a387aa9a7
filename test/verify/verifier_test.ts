import assert from "node:assert/strict";
import {
  BlobFeatureStore,
  chanceInliersNfa,
  inliersNeeded,
  MemoryFeatureStore,
  rerankByVerification,
  resolveVerifyOptions,
  verificationScore,
  verificationThreshold,
  Verifier,
  verifyPair,
} from "../../src/verify/verifier.ts";
import type { LocalFeatures } from "../../src/types.ts";
import { ValidationError } from "../../src/errors.ts";
import { mulberry32 } from "../../src/_rng.ts";
import { encodeLocalFeatures } from "../../src/verify/features_codec.ts";
import { MapFeatureBuilder, queryFeatures } from "../../src/verify/eval_hooks.ts";
import { blankImage, shifted, texturedImage } from "./_synthetic.ts";

const A = texturedImage(320, 240, 10);
const B = shifted(A, 24, -16); // same scene, translated
const C = texturedImage(320, 240, 11); // another scene

async function mapOf() {
  const b = new MapFeatureBuilder();
  await b.add(1, A);
  await b.add(2, C);
  return b.finish();
}

Deno.test("verifyPair() verifies a translated copy and recovers the translation", async () => {
  const { pca, features } = await mapOf();
  const q = await queryFeatures(B, pca);
  const r = verifyPair(q, features.get(1)!, { minInliers: 30 });
  assert.ok(r.ok, JSON.stringify({ ...r, correspondences: undefined }));
  assert.ok(r.inliers > 50);
  const m = r.transform!.matrix; // query (B) -> candidate (A): x_A = x_B - 24, y_A = y_B + 16
  assert.ok(Math.abs(m[2] + 24) < 4 && Math.abs(m[5] - 16) < 4, `matrix ${m}`);
  const other = verifyPair(q, features.get(2)!, { minInliers: 30 });
  assert.ok(!other.ok);
  assert.ok(other.inliers < r.inliers / 3);
  assert.match(other.reason ?? "", /too few (inliers|tentative)/);
});

Deno.test("verifyPair() on blank and tiny images returns a reason instead of throwing", async () => {
  const { pca, features } = await mapOf();
  const blank = await queryFeatures(blankImage(320, 240), pca);
  const r = verifyPair(blank, features.get(1)!);
  assert.equal(r.ok, false);
  assert.match(r.reason!, /query image has no keypoints \(blank or textureless\)/);
  const tiny = await queryFeatures(texturedImage(20, 12, 3), pca);
  assert.match(verifyPair(features.get(1)!, tiny).reason!, /candidate image is too small \(20x12/);
});

Deno.test("Verifier reads stored blobs lazily, caches them and reports missing places", async () => {
  const { pca, blobs } = await mapOf();
  const store = new BlobFeatureStore((id) => Promise.resolve(blobs.get(id)));
  const v = new Verifier(store, { minInliers: 30 });
  assert.equal(store.reads, 0);
  const q = await queryFeatures(B, pca);
  const res = await v.verifyCandidates(q, [2, 1, 99]);
  assert.deepEqual(res.map((r) => r.placeId), [2, 1, 99]);
  assert.equal(res[1].result.ok, true);
  assert.equal(res[0].result.ok, false);
  assert.match(res[2].result.reason!, /place 99 has no stored local features/);
  await v.verifyCandidates(q, [1]);
  assert.equal(store.reads, 3); // 1 and 2 cached, 99 read (absent)
  const corrupt = new Verifier(new BlobFeatureStore(() => Promise.resolve(new Uint8Array(5))));
  assert.match((await corrupt.verify(q, 1)).reason!, /unreadable/);
  const mem = new MemoryFeatureStore();
  mem.set(1, (await mapOf()).features.get(1)!);
  assert.ok((await new Verifier(mem, { minInliers: 30 }).verify(q, 1)).ok);
  assert.ok(encodeLocalFeatures(q).length > 0);
});

Deno.test("rerankByVerification() puts verified candidates first by inliers and renumbers ranks", () => {
  const hyps = [1, 2, 3, 4].map((placeId, rank) => ({ placeId, similarity: 1 - rank / 10, rank }));
  const ok = (inliers: boolean, n: number) => ({ ok: inliers, inliers: n, matches: 100, score: n });
  const out = rerankByVerification(hyps, [
    { placeId: 1, result: ok(false, 20) },
    { placeId: 2, result: ok(true, 80) },
    { placeId: 3, result: ok(true, 150) },
  ]);
  assert.deepEqual(out.map((h) => h.placeId), [3, 2, 1, 4]);
  assert.deepEqual(out.map((h) => h.rank), [0, 1, 2, 3]);
  assert.equal(out[0].inliers, 150);
  assert.equal(out[3].inliers, undefined);
  const dropped = rerankByVerification(hyps, [{ placeId: 1, result: ok(false, 20) }], { dropRejected: true });
  assert.deepEqual(dropped.map((h) => h.placeId), [2, 3, 4]);
  assert.throws(() => rerankByVerification(hyps, [], { mode: "x" as "inliers" }), /'mode'/);
});

Deno.test("verifyPair() says 'too few keypoints' for a nearly textureless image; Verifier reports a missing place", async () => {
  const { pca, features } = await mapOf();
  // One small bright square on a flat background: under 150 keypoints (its corners, at 2 px steps, 4 scales).
  const img = blankImage(320, 240, 90);
  for (let y = 100; y < 112; y++) for (let x = 150; x < 162; x++) img.data[y * 320 + x] = 250;
  const q = await queryFeatures(img, pca);
  const min = q.count + 1;
  assert.ok(q.count > 0 && q.count < 150, `count ${q.count}`);
  assert.match(
    verifyPair(q, features.get(1)!, { minKeypoints: min }).reason!,
    new RegExp(`query image has too few keypoints \\(${q.count} < ${min}\\)`),
  );
  const v = new Verifier(new MemoryFeatureStore());
  const [r] = await v.verifyCandidates(q, [3]);
  assert.match(r.result.reason!, /place 3 has no stored local features/);
  // Mismatched descriptor sizes (different PCA) are reported, not thrown.
  const other = { ...features.get(2)!, dim: 39 };
  assert.match(verifyPair(features.get(1)!, other).reason!, /descriptor sizes differ/);
});

Deno.test("verificationScore() is inliers net of a third of the outliers, and ranks a true pair above a false one", async () => {
  assert.equal(verificationScore(60, 90), 50);
  assert.equal(verificationScore(10, 100), 0); // never negative
  assert.equal(verificationScore(0, 0), 0);
  const { pca, features } = await mapOf();
  const q = await queryFeatures(B, pca);
  const good = verifyPair(q, features.get(1)!), bad = verifyPair(q, features.get(2)!);
  assert.equal(good.score, verificationScore(good.inliers, good.matches));
  assert.ok(good.score > 3 * bad.score + 10, `${good.score} vs ${bad.score}`);
});

/** `n` keypoints with orthogonal unit descriptors (keypoint i of two such sets match each other mutually). */
function pointSet(xy: number[][], width: number, height: number): LocalFeatures {
  const n = xy.length, dim = n;
  const descriptors = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) descriptors[i * dim + i] = 1;
  return {
    count: n,
    dim,
    keypoints: Float32Array.from(xy.flat()),
    scales: new Float32Array(n).fill(1),
    attention: new Float32Array(n).fill(1),
    descriptors,
    imageWidth: width,
    imageHeight: height,
  };
}

function scatter(n: number, width: number, height: number, seed: number): number[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => [rand() * width, rand() * height]);
}

Deno.test("chanceInliersNfa(): scale-free, falls with the inliers, at least 1 for what any sample fits", () => {
  // Twice the tolerance on an image of four times the area: the same chance of a stray match landing.
  assert.ok(
    Math.abs(chanceInliersNfa(12, 200, 6.25, 160 * 120) / chanceInliersNfa(12, 200, 20, 512 * 384) - 1) <
      1e-6,
  );
  let last = Infinity;
  for (const k of [3, 5, 8, 12, 20, 40]) {
    const nfa = chanceInliersNfa(k, 200, 6.25, 160 * 120);
    assert.ok(nfa < last, `k ${k}: ${nfa} >= ${last}`);
    last = nfa;
  }
  assert.ok(chanceInliersNfa(3, 200, 6.25, 160 * 120) >= 1); // a minimal sample fits any 3 matches
  assert.ok(chanceInliersNfa(4, 10, 2.5, 64 * 48, "homography") >= 1);
  assert.ok(chanceInliersNfa(10, 10, 2.5, 64 * 48) < 1e-6);
});

Deno.test("verifyPair() at a handful of keypoints: the proportional count alone would pass chance matches, the chance test does not", () => {
  const w = 64, h = 48, n = 12;
  const q = pointSet(scatter(n, w, h, 1), w, h);
  const unrelated = pointSet(scatter(n, w, h, 2), w, h); // every descriptor matches, the geometry is random
  const scaled = { referenceKeypoints: 1000, relativeThreshold: 20 / 512 }; // as the pipeline verifies
  const r = verifyPair(q, unrelated, scaled);
  assert.equal(inliersNeeded(q, unrelated, scaled), 2); // 150 at 1000 keypoints, 12 here
  assert.equal(inliersNeeded(q, unrelated), 150); // without referenceKeypoints: a plain count
  assert.ok(r.inliers >= 2, `${r.inliers}`); // any 3 matches fit an affine model
  assert.equal(r.ok, false);
  assert.match(r.reason ?? "", /within chance/);
  // The same points moved by a translation in the candidate: every match agrees, far beyond chance.
  const moved = pointSet(scatter(n, w, h, 1).map(([x, y]) => [x + 3, y - 2]), w, h);
  const t = verifyPair(q, moved, scaled);
  assert.ok(t.ok, JSON.stringify({ ...t, correspondences: undefined }));
  assert.equal(t.inliers, n);
});

Deno.test("verifyPair() with the pipeline's scale-free options: the same pair at twice the size gives the same verdict and inliers", () => {
  const w = 160, h = 120, n = 200;
  const rand = mulberry32(7);
  const pts = scatter(n, w, h, 3);
  // Half the candidate points follow a similarity transform (within 2 px), the other half are random.
  const cand = pts.map(([x, y], i) =>
    i % 2 === 0
      ? [0.9 * x + 10 + 4 * (rand() - 0.5), 0.9 * y + 5 + 4 * (rand() - 0.5)]
      : [rand() * w, rand() * h]
  );
  const scaled = { referenceKeypoints: 1000, relativeThreshold: 20 / 512 };
  const small = verifyPair(pointSet(pts, w, h), pointSet(cand, w, h), scaled);
  const big = verifyPair(
    pointSet(pts.map(([x, y]) => [2 * x, 2 * y]), 2 * w, 2 * h),
    pointSet(cand.map(([x, y]) => [2 * x, 2 * y]), 2 * w, 2 * h),
    scaled,
  );
  assert.ok(small.ok && big.ok, `${small.reason} / ${big.reason}`);
  assert.equal(small.inliers, big.inliers);
  assert.equal(verificationThreshold(pointSet(cand, w, h), scaled), 20 * 160 / 512);
  assert.equal(verificationThreshold(pointSet(cand, w, h)), 20); // DELF's pixels by default
  // An explicit tolerance in pixels wins; absurd options are named.
  assert.equal(verificationThreshold(pointSet(cand, w, h), { threshold: 3 }), 3);
  assert.throws(() => verifyPair(small as never, small as never, { relativeThreshold: 2 }), ValidationError);
  assert.throws(() => resolveVerifyOptions({ referenceKeypoints: 0 }), /referenceKeypoints/);
});
