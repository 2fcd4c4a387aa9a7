import assert from "node:assert/strict";
import { FrontEnd } from "../../src/model/default_model.ts";
import {
  addDenseSift,
  denoiseAmount,
  DENSE_SIFT_DEFAULTS,
  wienerAmount,
} from "../../src/model/dense_sift.ts";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { createSession } from "../../src/model/runtime.ts";
import { mulberry32 as seededRandom } from "../../src/_rng.ts";
import type { PixelImage } from "../../src/types.ts";

const W = 160, H = 120;

/** Smooth texture (two sinusoids, period 16 and 24 px) in [0.2, 0.8], plus Gaussian noise of `sigma`. */
function scene(sigma: number, gain = 1, seed = 5): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      const v = 0.5 + 0.15 * Math.sin((2 * Math.PI * x) / 16) + 0.15 * Math.cos((2 * Math.PI * y) / 24);
      out[y * W + x] = gain * (v + sigma * n);
    }
  }
  return out;
}

async function amounts(images: Float32Array[], start: number | "wiener"): Promise<number[]> {
  const g = new GraphBuilder("denoise_amount");
  const image = g.input("image", ["N", 1, "H", "W"]);
  const amount = start === "wiener" ? wienerAmount(g, image) : denoiseAmount(g, image, start);
  g.output(amount, "amount", ["N", 1]);
  const session = await createSession(g.toBytes(), { provider: "cpu", label: "denoise amount" });
  try {
    const data = new Float32Array(images.length * W * H);
    images.forEach((img, i) => data.set(img, i * W * H));
    const out = await session.run({ image: { data, dims: [images.length, 1, H, W] } });
    return Array.from(out.amount.data as Float32Array);
  } finally {
    await session.close();
  }
}

Deno.test("denoise amount: 0 on a clean image, rising with the noise-to-contrast ratio, independent of gain", async () => {
  const [clean, some, much, muchDark] = await amounts(
    [scene(0), scene(0.004), scene(0.05), scene(0.05, 0.25)],
    0.015,
  );
  assert.equal(clean, 0);
  assert.ok(some < much, `${some} vs ${much}`);
  assert.ok(much > 0.99, `very noisy image smoothed by ${much}`);
  // A ratio of intensities: the same image darkened (no quantisation here) gets the same smoothing.
  assert.ok(Math.abs(muchDark - much) < 1e-4, `${muchDark} vs ${much}`);
});

/**
 * Discs of different grey levels (anti-aliased edges: sparse structure in the finest band) on a gradient,
 * times `gain`, plus Gaussian noise of `sigma` (before the gain).
 */
function discs(sigma: number, gain = 1, seed = 7): Float32Array {
  const rand = seededRandom(seed);
  const shapes = Array.from(
    { length: 12 },
    () => [rand() * W, rand() * H, 6 + rand() * 20, 0.2 + 0.6 * rand()],
  );
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0.3 + (0.2 * x) / W;
      for (const [cx, cy, r, level] of shapes) {
        const inside = Math.min(1, Math.max(0, r - Math.hypot(x - cx, y - cy) + 0.5));
        v += inside * (level - v);
      }
      const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      out[y * W + x] = gain * (v + sigma * n);
    }
  }
  return out;
}

Deno.test("wiener smoothing amount: 0 while the finest band is mostly signal, rising to 1 on pure noise, gain-free", async () => {
  const clean = discs(0);
  const pureNoise = discs(0.05).map((v, i) => 0.5 + v - clean[i]);
  const [none, faint, some, more, someDark, pure] = await amounts(
    [clean, discs(0.003), discs(0.01), discs(0.02), discs(0.01, 0.25), pureNoise],
    "wiener",
  );
  assert.equal(none, 0);
  // No threshold to set: faint noise under the edges' signal leaves the image exactly as it was.
  assert.equal(faint, 0, `faint noise: ${faint}`);
  assert.ok(some > 0 && some < more && more < 1, `${some}, ${more}`);
  assert.ok(pure > 0.99, `pure noise: ${pure}`);
  // A ratio of powers: the same image darkened (no quantisation here) gets the same smoothing.
  assert.ok(Math.abs(someDark - some) < 1e-4, `${someDark} vs ${some}`);
});

function toPixels(img: Float32Array): PixelImage {
  const data = new Uint8Array(W * H);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(255 * img[i])));
  return { width: W, height: H, channels: 1, data };
}

/** Dense descriptors without the noise floor (the uniform test scene would be all floor). */
async function describe(img: PixelImage, denoise: number | "wiener"): Promise<Float32Array> {
  const fe = await FrontEnd.create(W, H, { frontEnd: { ...DENSE_SIFT_DEFAULTS, noiseFloor: 0, denoise } });
  try {
    return (await fe.run([img]))[0].descriptors;
  } finally {
    await fe.close();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("noise-adaptive smoothing leaves a clean image's descriptors as they were and changes a noisy one's", async () => {
  const clean = toPixels(scene(0));
  assert.equal(maxDiff(await describe(clean, 0.015), await describe(clean, 0)), 0);
  const noisy = toPixels(scene(0.05));
  const d = maxDiff(await describe(noisy, 0.015), await describe(noisy, 0));
  assert.ok(d > 0.05, `${d}`);
});

Deno.test("wiener smoothing leaves a clean image's descriptors as they were and changes a noisy one's", async () => {
  const clean = toPixels(discs(0));
  assert.equal(maxDiff(await describe(clean, "wiener"), await describe(clean, 0)), 0);
  const noisy = toPixels(discs(0.05));
  const d = maxDiff(await describe(noisy, "wiener"), await describe(noisy, 0));
  assert.ok(d > 0.05, `${d}`);
});

Deno.test("noise-adaptive smoothing: invalid options are refused with the option's name", () => {
  const g = new GraphBuilder("t");
  const image = g.input("image", ["N", 1, "H", "W"]);
  assert.throws(() => addDenseSift(g, image, { ...DENSE_SIFT_DEFAULTS, denoise: -1 }), /denoise/);
  const unknown = { ...DENSE_SIFT_DEFAULTS, denoise: "median" as unknown as "wiener" };
  assert.throws(() => addDenseSift(g, image, unknown), /denoise.*"wiener"/);
  assert.throws(
    () => addDenseSift(g, image, { ...DENSE_SIFT_DEFAULTS, denoise: "wiener", denoiseSigma: -1 }),
    /denoiseSigma/,
  );
  assert.throws(
    () => addDenseSift(g, image, { ...DENSE_SIFT_DEFAULTS, denoise: 0.01, denoiseSigma: 0 }),
    /denoiseSigma/,
  );
});
