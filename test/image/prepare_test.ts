import assert from "node:assert/strict";
import sharp from "sharp";
import { prepareImage } from "../../src/image/prepare.ts";
import { resizePixels } from "../../src/image/resize.ts";
import { toNchw } from "../../src/image/normalise.ts";
import { ImageDecodeError, ValidationError } from "../../src/errors.ts";
import type { PixelImage } from "../../src/types.ts";

function checker(w: number, h: number, cell: number): PixelImage {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data[y * w + x] = ((x / cell | 0) + (y / cell | 0)) % 2 ? 200 : 40;
  }
  return { width: w, height: h, channels: 1, data };
}

function mean(a: Uint8Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

Deno.test("prepareImage() decodes and resizes a JPEG to the exact model size in one step", async () => {
  const img = checker(640, 480, 40);
  const jpeg = new Uint8Array(
    await sharp(img.data, { raw: { width: 640, height: 480, channels: 1 } }).jpeg().toBuffer(),
  );
  const grey = await prepareImage({ kind: "encoded", format: "jpeg", data: jpeg }, {
    width: 320,
    height: 240,
    channels: 1,
  });
  assert.deepEqual([grey.width, grey.height, grey.channels], [320, 240, 1]);
  assert.ok(Math.abs(mean(grey.data) - mean(img.data)) < 4);
  const rgb = await prepareImage(jpeg, { width: 200, height: 100, channels: 3 });
  assert.deepEqual([rgb.width, rgb.height, rgb.channels, rgb.data.length], [200, 100, 3, 60000]);
});

Deno.test("prepareImage() resizes raw and decoded pixels and names the source of bad input", async () => {
  const out = await prepareImage(
    {
      kind: "raw",
      width: 4,
      height: 2,
      encoding: "mono8",
      step: 4,
      bigEndian: false,
      data: new Uint8Array(8).fill(9),
    },
    { width: 2, height: 1, channels: 1 },
  );
  assert.deepEqual(Array.from(out.data), [9, 9]);
  await assert.rejects(
    () =>
      prepareImage({ kind: "encoded", format: "jpeg", data: new Uint8Array([0xff, 0xd8, 0xff, 0]) }, {
        width: 2,
        height: 2,
        channels: 1,
      }, { source: "frame 7" }),
    (e: unknown) => e instanceof ImageDecodeError && /frame 7/.test(e.message),
  );
});

Deno.test("resizePixels() keeps the mean of a downscaled pattern and returns same-size input unchanged", () => {
  const img = checker(100, 60, 5);
  const small = resizePixels(img, 37, 23);
  assert.ok(Math.abs(mean(small.data) - mean(img.data)) < 3);
  assert.equal(resizePixels(img, 100, 60), img);
  assert.throws(() => resizePixels(img, 0, 10), ValidationError);
});

Deno.test("toNchw() applies mean/std per channel and converts RGB to grey for grey models", () => {
  const rgb: PixelImage = { width: 2, height: 1, channels: 3, data: new Uint8Array([255, 0, 0, 0, 255, 0]) };
  const t = toNchw([rgb], { width: 2, height: 1, channels: 3, mean: [0, 0.5, 0], std: [1, 0.5, 2] });
  assert.deepEqual(Array.from(t), [1, 0, -1, 1, 0, 0]);
  const g = toNchw([rgb], { width: 2, height: 1, channels: 1, mean: [0], std: [1] });
  assert.ok(Math.abs(g[0] - 77 / 256) < 1e-6 && Math.abs(g[1] - 150 / 256) < 1e-6);
  assert.throws(
    () => toNchw([rgb], { width: 3, height: 1, channels: 1, mean: [0], std: [1] }),
    /images\[0\] size/,
  );
});
