import assert from "node:assert/strict";
import {
  addNoise,
  cropShift,
  degrade,
  gaussianBlur,
  NIGHT,
  nightLike,
  parseDegradations,
} from "../../src/eval/degrade.ts";
import type { PixelImage } from "../../src/types.ts";
import { mulberry32 } from "../../src/_rng.ts";

function textured(w: number, h: number, channels: 1 | 3, seed = 1): PixelImage {
  const r = mulberry32(seed);
  const data = new Uint8Array(w * h * channels);
  for (let i = 0; i < data.length; i++) data[i] = 40 + Math.floor(r() * 180);
  return { width: w, height: h, channels, data };
}

function flat(w: number, h: number, channels: 1 | 3, v: number): PixelImage {
  return { width: w, height: h, channels, data: new Uint8Array(w * h * channels).fill(v) };
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x, 0) / a.length;

Deno.test("degrade: the same spec and seed give the same bytes; another seed gives other noise", async () => {
  const img = textured(48, 32, 3);
  for (const spec of ["night", "night:1+down:24x16", "noise:0.05", "crop:0.1-0.2:random+jpeg:30"]) {
    const a = await degrade(img, spec, 7), b = await degrade(img, spec, 7);
    assert.deepEqual(a.data, b.data, spec);
  }
  const a = await degrade(img, "noise:0.05", 7), c = await degrade(img, "noise:0.05", 8);
  assert.notDeepEqual(a.data, c.data);
});

Deno.test("degrade: noise has the requested sigma and zero mean (mid-grey, no clipping)", () => {
  const img = flat(200, 100, 1, 128);
  const out = addNoise(img, 0.02, 3);
  const d = Array.from(out.data, (v) => (v - 128) / 255);
  const m = mean(d), sd = Math.sqrt(mean(d.map((x) => (x - m) ** 2)));
  assert.ok(Math.abs(m) < 0.002, `mean ${m}`);
  assert.ok(Math.abs(sd - 0.02) < 0.002, `sigma ${sd}`);
});

Deno.test("degrade: night-like darkens by gamma 2.2 x 0.35 with a blue cast, and adds noise", async () => {
  const grey = 180;
  const img = flat(64, 48, 3, grey);
  const out = await nightLike(img, 5);
  const expected = NIGHT.cast.map((g) => Math.pow(grey / 255, 2.2) * 0.35 * g * 255);
  for (let ch = 0; ch < 3; ch++) {
    const vals = Array.from(out.data.filter((_, i) => i % 3 === ch));
    const m = mean(vals);
    // JPEG's chroma subsampling and rounding move each channel's mean by a few levels at most.
    assert.ok(Math.abs(m - expected[ch]) < 4, `channel ${ch}: mean ${m} vs ${expected[ch]}`);
    const sd = Math.sqrt(mean(vals.map((v) => (v - m) ** 2)));
    assert.ok(sd > 1, `channel ${ch} carries noise (sd ${sd} levels)`);
  }
  assert.ok(mean(out.data) < mean(img.data) / 2);
});

Deno.test("degrade: darker, gamma, cast and jpeg do what they say", async () => {
  const img = flat(16, 16, 3, 200);
  assert.equal((await degrade(img, "darker:0.3", 1)).data[0], 60);
  assert.equal((await degrade(img, "gamma:2", 1)).data[0], Math.round((200 / 255) ** 2 * 255));
  const cast = await degrade(img, "cast:1,0.5,1.5", 1);
  assert.deepEqual(Array.from(cast.data.subarray(0, 3)), [200, 100, 255]);
  const t = textured(64, 64, 3);
  const j = await degrade(t, "jpeg:30", 1);
  assert.equal(j.width, 64);
  assert.notDeepEqual(j.data, t.data);
  const err = mean(Array.from(j.data, (v, i) => Math.abs(v - t.data[i])));
  assert.ok(err > 2 && err < 80, `JPEG 30 error ${err}`);
});

Deno.test("degrade: blur smooths, keeps the mean; crop keeps the size and shifts content; down resizes", async () => {
  const t = textured(40, 30, 1);
  const b = gaussianBlur(t, 1.5);
  const sd = (x: Uint8Array) => Math.sqrt(mean(Array.from(x, (v) => (v - mean(x)) ** 2)));
  assert.ok(sd(b.data) < sd(t.data) / 2);
  assert.ok(Math.abs(mean(b.data) - mean(t.data)) < 1.5);
  // A left-to-right ramp: cutting the left 20% away raises the left edge's value.
  const ramp: PixelImage = { width: 100, height: 4, channels: 1, data: new Uint8Array(400) };
  for (let y = 0; y < 4; y++) for (let x = 0; x < 100; x++) ramp.data[y * 100 + x] = 2 * x;
  const c = cropShift(ramp, 0.2, "left");
  assert.equal(c.width, 100);
  assert.ok(c.data[0] >= 38 && c.data[0] <= 44, `left edge ${c.data[0]}`);
  assert.equal(cropShift(ramp, 0.2, "right").data[99], ramp.data[79] + 0);
  const d = await degrade(textured(320, 240, 3), "down:160x120", 1);
  assert.deepEqual([d.width, d.height, d.channels], [160, 120, 3]);
});

Deno.test("degrade: bad specs are refused naming the step", () => {
  assert.throws(() => parseDegradations("jpeg:0"), /jpeg:0/);
  assert.throws(() => parseDegradations("down:160"), /WxH/);
  assert.throws(() => parseDegradations("fog"), /night, darker/);
  assert.throws(() => parseDegradations("crop:0.2:up"), /left, right or random/);
  assert.deepEqual(parseDegradations("none"), []);
});
