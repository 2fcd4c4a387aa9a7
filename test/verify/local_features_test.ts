import assert from "node:assert/strict";
import { extractLocalFeatures, modelExtractor, siftExtractor } from "../../src/verify/local_features.ts";
import { denseSift } from "../../src/verify/dense_sift.ts";
import type { DescriptorModel, DescriptorOutput, PixelImage } from "../../src/types.ts";
import { blankImage, texturedImage } from "./_synthetic.ts";
import { MapFeatureBuilder } from "../../src/verify/eval_hooks.ts";
import { decodeLocalFeatures } from "../../src/verify/features_codec.ts";

Deno.test("denseSift() gives unit 128-d rows on a regular grid and zero attention on flat areas", () => {
  const w = 80, h = 64;
  const gray = new Float32Array(w * h).fill(0.5);
  for (let y = 20; y < 40; y++) for (let x = 30; x < 50; x++) gray[y * w + x] = 1; // a bright square: corners
  const d = denseSift(gray, w, h);
  assert.equal(d.gridWidth, Math.floor((w / 4 - 4) / 2) + 1);
  assert.equal(d.stride, 8);
  assert.equal(d.offset, 8);
  let textured = 0;
  for (let i = 0; i < d.gridWidth * d.gridHeight; i++) {
    let n = 0;
    for (let k = 0; k < 128; k++) n += d.descriptors[i * 128 + k] ** 2;
    if (n > 0) {
      textured++;
      assert.ok(Math.abs(n - 1) < 1e-4);
    } else assert.equal(d.attention![i], 0);
  }
  assert.ok(textured > 0);
  // Attention peaks near the square's corners, not in the flat background.
  const at = (x: number, y: number) =>
    d.attention![Math.round((y - 8) / 8) * d.gridWidth + Math.round((x - 8) / 8)];
  assert.ok(at(32, 24) > 10 * at(64, 56) + 1e-6);
});

Deno.test("extractLocalFeatures() keeps at most N keypoints, spread over scales, without near-duplicates", async () => {
  const img = texturedImage(320, 240, 1);
  const f = await extractLocalFeatures(img, { maxKeypoints: 300 });
  assert.ok(f.count > 100 && f.count <= 300, `count ${f.count}`);
  assert.equal(f.dim, 128);
  const scales = new Set(f.scales);
  assert.ok(scales.size >= 2, `scales ${[...scales]}`);
  for (let i = 1; i < f.count; i++) assert.ok(f.attention[i] <= f.attention[i - 1]);
  for (let i = 0; i < f.count; i++) {
    assert.ok(f.keypoints[2 * i] >= 0 && f.keypoints[2 * i] < 320 && f.keypoints[2 * i + 1] < 240);
  }
  // No two keypoints of the same scale at the same centre (NMS).
  const seen = new Set<string>();
  for (let i = 0; i < f.count; i++) {
    const key = `${f.scales[i]}:${f.keypoints[2 * i].toFixed(1)}:${f.keypoints[2 * i + 1].toFixed(1)}`;
    assert.ok(!seen.has(key));
    seen.add(key);
  }
});

Deno.test("extractLocalFeatures() returns no keypoints for a blank image and validates options", async () => {
  const f = await extractLocalFeatures(blankImage(200, 150));
  assert.equal(f.count, 0);
  await assert.rejects(() => extractLocalFeatures(blankImage(64, 64), { maxKeypoints: 0 }), /'maxKeypoints'/);
  await assert.rejects(() => extractLocalFeatures(blankImage(64, 64), { scales: [] }), /'scales'/);
});

Deno.test("modelExtractor() maps a model's grid back to image pixels and adds attention when missing", async () => {
  // A stand-in model that describes its input at half resolution with the TS dense SIFT, without attention.
  const sift = siftExtractor();
  const model = {
    info: {
      name: "fake",
      id: "x",
      descriptorDim: 4,
      inputWidth: 0,
      inputHeight: 0,
      inputChannels: 1,
      provider: "cpu",
    },
    async describe(image: PixelImage): Promise<DescriptorOutput> {
      const local = await sift(image, 0.5);
      delete local.attention;
      return { global: new Float32Array(4), local };
    },
    describeBatch: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  } as DescriptorModel;
  const img = texturedImage(256, 192, 2);
  const f = await extractLocalFeatures(img, {
    extractor: modelExtractor(model),
    scales: [1],
    maxKeypoints: 100,
  });
  assert.ok(f.count > 20);
  // Half-resolution grid: centres at (8 + 8g) * 2 = 16 + 16g in the original image.
  for (let i = 0; i < f.count; i++) assert.equal((f.keypoints[2 * i] - 16) % 16, 0);
});

Deno.test("extractLocalFeatures() suppresses overlapping receptive fields across pyramid levels (NMS)", async () => {
  const img = texturedImage(320, 240, 4);
  const iouOf = (f: Awaited<ReturnType<typeof extractLocalFeatures>>, i: number, j: number) => {
    // Dense SIFT receptive field: 2 strides (16 px) at the level, i.e. half-side 8 / scale in image pixels.
    const hi = 8 / f.scales[i], hj = 8 / f.scales[j];
    const ix = Math.min(f.keypoints[2 * i] + hi, f.keypoints[2 * j] + hj) -
      Math.max(f.keypoints[2 * i] - hi, f.keypoints[2 * j] - hj);
    const iy = Math.min(f.keypoints[2 * i + 1] + hi, f.keypoints[2 * j + 1] + hj) -
      Math.max(f.keypoints[2 * i + 1] - hi, f.keypoints[2 * j + 1] - hj);
    if (ix <= 0 || iy <= 0) return 0;
    return (ix * iy) / (4 * hi * hi + 4 * hj * hj - ix * iy);
  };
  const f = await extractLocalFeatures(img, { maxKeypoints: 2000, nmsIoU: 0.3 });
  let crossScaleNeighbours = 0;
  for (let i = 0; i < f.count; i++) {
    for (let j = i + 1; j < f.count; j++) {
      const iou = iouOf(f, i, j);
      assert.ok(iou < 0.3 + 1e-6, `keypoints ${i} and ${j} overlap with IoU ${iou}`);
      if (iou > 0 && f.scales[i] !== f.scales[j]) crossScaleNeighbours++;
    }
  }
  assert.ok(crossScaleNeighbours > 0); // levels interleave; they are not kept apart by construction
  // Without suppression (only identical boxes are removed) more candidates survive, overlapping across scales.
  const loose = await extractLocalFeatures(img, { maxKeypoints: 2000, nmsIoU: 1 });
  assert.ok(loose.count > f.count * 1.5, `${loose.count} vs ${f.count}`);
  let overlapping = 0;
  for (let i = 0; i < Math.min(loose.count, 300); i++) {
    for (let j = i + 1; j < Math.min(loose.count, 300); j++) {
      if (loose.scales[i] !== loose.scales[j] && iouOf(loose, i, j) >= 0.3) overlapping++;
    }
  }
  assert.ok(overlapping > 0);
  // Threshold: nothing below it is kept.
  const strict = await extractLocalFeatures(img, {
    attentionThreshold: f.attention[Math.floor(f.count / 2)],
    maxKeypoints: 2000,
    nmsIoU: 0.3,
  });
  assert.ok(strict.count > 0 && strict.count < f.count);
  for (const a of strict.attention) assert.ok(a >= f.attention[Math.floor(f.count / 2)]);
});

Deno.test("map features: L2 -> PCA 40-d -> L2, stored as int8 blobs of about 60 bytes per keypoint", async () => {
  const b = new MapFeatureBuilder();
  const raw = await b.add(0, texturedImage(320, 240, 8));
  await b.add(1, texturedImage(320, 240, 9));
  for (let i = 0; i < raw.count; i++) {
    let n = 0;
    for (let k = 0; k < raw.dim; k++) n += raw.descriptors[i * raw.dim + k] ** 2;
    assert.ok(Math.abs(n - 1) < 1e-4); // L2 before PCA
  }
  const { pca, features, blobs } = b.finish();
  assert.equal(pca.outputDim, 40);
  assert.equal(pca.inputDim, 128);
  const f = features.get(0)!;
  assert.equal(f.dim, 40);
  assert.equal(f.count, raw.count);
  for (let i = 0; i < f.count; i++) {
    let n = 0;
    for (let k = 0; k < 40; k++) n += f.descriptors[i * 40 + k] ** 2;
    assert.ok(Math.abs(n - 1) < 1e-4); // L2 after PCA
  }
  const blob = blobs.get(0)!;
  assert.ok(blob.length <= 20 + 60 * f.count, `${blob.length} bytes for ${f.count} keypoints`);
  const back = decodeLocalFeatures(blob);
  let worst = 1;
  for (let i = 0; i < f.count; i++) {
    let dot = 0;
    for (let k = 0; k < 40; k++) dot += f.descriptors[i * 40 + k] * back.descriptors[i * 40 + k];
    worst = Math.min(worst, dot);
  }
  assert.ok(worst > 0.999, `cosine ${worst}`);
});

Deno.test("siftLevel() + siftDescriptorAt(): unit RootSIFT rows, zero for flat patches, shift-equivariant", async () => {
  const { siftLevel, siftDescriptorAt, siftAttentionAt } = await import("../../src/verify/dense_sift.ts");
  const w = 96, h = 80;
  const gray = new Float32Array(w * h).fill(0.5);
  for (let y = 30; y < 50; y++) for (let x = 40; x < 60; x++) gray[y * w + x] = 1;
  const lv = siftLevel(gray, w, h);
  assert.equal(lv.sub, 2);
  assert.equal(lv.bw, 48);
  const out = new Float32Array(256);
  // Window whose centre (block x + 4) sits on the square's corner (40, 30) = block (20, 15).
  assert.ok(siftDescriptorAt(lv, 16, 11, out, 0));
  let n = 0;
  for (let k = 0; k < 128; k++) n += out[k] ** 2;
  assert.ok(Math.abs(n - 1) < 1e-5, `norm ${n}`);
  assert.equal(siftDescriptorAt(lv, 1, 1, out, 128), false); // flat corner of the image
  assert.ok(out.subarray(128).every((v) => v === 0));
  // The same corner 4 px (2 blocks) to the right gives the same descriptor at the shifted window.
  const g2 = new Float32Array(w * h).fill(0.5);
  for (let y = 30; y < 50; y++) for (let x = 44; x < 64; x++) g2[y * w + x] = 1;
  const out2 = new Float32Array(128);
  siftDescriptorAt(siftLevel(g2, w, h), 18, 11, out2, 0);
  for (let k = 0; k < 128; k++) assert.ok(Math.abs(out[k] - out2[k]) < 1e-5);
  // Attention: high on the corner, zero on flat ground.
  assert.ok(siftAttentionAt(lv, 16, 11, 8) > 1e-3);
  assert.equal(siftAttentionAt(lv, 0, 0, 8), 0);
});

Deno.test("extractLocalFeatures() (keypoint-first SIFT) keypoints move with the image to within 1.5 px", async () => {
  const w = 160, h = 120;
  const corner = (cx: number, cy: number): PixelImage => {
    const data = new Uint8Array(w * h).fill(60);
    for (let y = cy; y < h; y++) for (let x = cx; x < w; x++) data[y * w + x] = 220;
    return { width: w, height: h, channels: 1, data };
  };
  const strongest = async (img: PixelImage, dense: boolean) => {
    const f = await extractLocalFeatures(img, { scales: [1], sift: { dense } });
    assert.ok(f.count > 0);
    return [f.keypoints[0], f.keypoints[1]];
  };
  const [ax, ay] = await strongest(corner(61, 41), false);
  const [bx, by] = await strongest(corner(66, 44), false);
  assert.ok(Math.hypot(bx - ax - 5, by - ay - 3) <= 1.5, `moved by ${bx - ax},${by - ay}, not 5,3`);
  // The legacy dense grid can only place keypoints on its 8 px lattice.
  const [lx, ly] = await strongest(corner(61, 41), true);
  assert.equal(lx % 8, 0);
  assert.equal(ly % 8, 0);
  await assert.rejects(
    () => extractLocalFeatures(blankImage(64, 64), { sift: { attentionWindow: 11 } }),
    /'sift.attentionWindow'/,
  );
});

Deno.test("extractLocalFeatures() keeps the strongest keypoints when the pool is cut before NMS", async () => {
  const img = texturedImage(320, 240, 4);
  const few = await extractLocalFeatures(img, { maxKeypoints: 20 });
  const many = await extractLocalFeatures(img, { maxKeypoints: 2000 });
  assert.equal(few.count, 20);
  // The 20 kept with a small pool are the first 20 of the large run (same greedy NMS order).
  for (let i = 0; i < 20; i++) {
    assert.equal(few.attention[i], many.attention[i]);
    assert.equal(few.keypoints[2 * i], many.keypoints[2 * i]);
  }
});
