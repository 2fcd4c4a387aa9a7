import assert from "node:assert/strict";
import sharp from "sharp";
import { checkEncoded, decodeImage, rawToPixels, sniffFormat } from "../../src/image/decode.ts";
import { ImageDecodeError } from "../../src/errors.ts";
import type { RawImage } from "../../src/types.ts";

async function encode(format: "jpeg" | "png" | "webp"): Promise<Uint8Array> {
  const w = 64, h = 48;
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 3;
      data[p] = x * 4;
      data[p + 1] = y * 5;
      data[p + 2] = 128;
    }
  }
  const buf = await sharp(data, { raw: { width: w, height: h, channels: 3 } }).toFormat(format).toBuffer();
  return new Uint8Array(buf);
}

for (const format of ["jpeg", "png", "webp"] as const) {
  Deno.test(`decodeImage() decodes ${format} to RGB and grey pixels of the right size`, async () => {
    const bytes = await encode(format);
    assert.equal(sniffFormat(bytes), format);
    const rgb = await decodeImage(bytes);
    assert.deepEqual([rgb.width, rgb.height, rgb.channels, rgb.data.length], [64, 48, 3, 64 * 48 * 3]);
    const grey = await decodeImage(bytes, { channels: 1 });
    assert.deepEqual([grey.channels, grey.data.length], [1, 64 * 48]);
    // Red ramps with x: the right edge is brighter than the left.
    assert.ok(rgb.data[(10 * 64 + 60) * 3] > rgb.data[(10 * 64 + 2) * 3] + 100);
  });
}

Deno.test("decodeImage() reports a truncated JPEG as truncated, naming the source", async () => {
  const bytes = await encode("jpeg");
  await assert.rejects(
    () => decodeImage(bytes.subarray(0, Math.floor(bytes.length / 2)), { source: "cam/12.jpg" }),
    (e: unknown) =>
      e instanceof ImageDecodeError && /cam\/12\.jpg/.test(e.message) && /truncated/.test(e.message),
  );
});

Deno.test("decodeImage() reports corrupt PNG data, naming the source", async () => {
  const bytes = (await encode("png")).slice();
  for (let i = 40; i < bytes.length - 20; i++) bytes[i] ^= 0x5a;
  await assert.rejects(
    () => decodeImage(bytes, { source: "x.png" }),
    (e: unknown) => e instanceof ImageDecodeError && /x\.png/.test(e.message),
  );
});

Deno.test("decodeImage() rejects an unknown format and empty input with clear messages", async () => {
  await assert.rejects(
    () => decodeImage(new TextEncoder().encode("GIF89a...."), { source: "a.gif" }),
    /a\.gif: unknown image format/,
  );
  await assert.rejects(
    () => decodeImage(new Uint8Array(0), { source: "e.jpg" }),
    /e\.jpg: the image is empty/,
  );
});

Deno.test("checkEncoded() rejects a declared format that the bytes contradict", async () => {
  const png = await encode("png");
  assert.throws(() => checkEncoded(png, "jpeg", "f"), /declared format 'jpeg' but the bytes are PNG/);
  assert.equal(checkEncoded(png, "image/png"), "png");
});

function raw(partial: Partial<RawImage>): RawImage {
  return {
    kind: "raw",
    width: 2,
    height: 1,
    encoding: "rgb8",
    step: 6,
    bigEndian: false,
    data: new Uint8Array(6),
    ...partial,
  };
}

Deno.test("rawToPixels() swaps BGR/BGRA, drops alpha and honours row padding", () => {
  const bgra = raw({
    encoding: "bgra8",
    width: 1,
    height: 2,
    step: 6,
    data: new Uint8Array([1, 2, 3, 9, 0, 0, 4, 5, 6, 9, 0, 0]),
  });
  assert.deepEqual(Array.from(rawToPixels(bgra).data), [3, 2, 1, 6, 5, 4]);
  const bgr = raw({ encoding: "bgr8", width: 1, height: 1, step: 3, data: new Uint8Array([10, 20, 30]) });
  assert.deepEqual(Array.from(rawToPixels(bgr).data), [30, 20, 10]);
  const grey = rawToPixels(raw({ data: new Uint8Array([255, 255, 255, 0, 0, 0]) }), { channels: 1 });
  assert.deepEqual(Array.from(grey.data), [255, 0]);
});

Deno.test("rawToPixels() reads mono16 in both byte orders and scales to 8 bits", () => {
  // 12-bit samples 4095 and 2048.
  const le = raw({ encoding: "mono16", step: 4, data: new Uint8Array([0xff, 0x0f, 0x00, 0x08]) });
  const be = raw({
    encoding: "mono16",
    step: 4,
    bigEndian: true,
    data: new Uint8Array([0x0f, 0xff, 0x08, 0x00]),
  });
  assert.deepEqual(Array.from(rawToPixels(le).data), [255, 128]);
  assert.deepEqual(Array.from(rawToPixels(be).data), [255, 128]);
});

Deno.test("rawToPixels() rejects short data, a small step and huge declared sizes", () => {
  assert.throws(
    () => rawToPixels(raw({ data: new Uint8Array(5) }), { source: "/cam" }),
    /\/cam: data holds 5 bytes but step \* height/,
  );
  assert.throws(() => rawToPixels(raw({ step: 5 })), /step 5 is smaller than width/);
  assert.throws(() => rawToPixels(raw({ width: 100000, height: 100000, step: 300000 })), /exceeds the limit/);
  assert.throws(() => rawToPixels(raw({ width: 0 })), ImageDecodeError);
  assert.throws(() => rawToPixels(raw({ encoding: "yuv422" as never })), /unsupported raw encoding 'yuv422'/);
});
