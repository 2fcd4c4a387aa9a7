import assert from "node:assert/strict";
import { FrameFormatError } from "../../src/errors.ts";
import { decodeRawFrame, encodeRawFrame, RAW_FRAME_HEADER_BYTES } from "../../src/io/raw_frame.ts";

Deno.test("WMRW raw frames round-trip every encoding with frame_id, seq, stamp and padded step", () => {
  const cases = [["rgb8", 3], ["bgr8", 3], ["rgba8", 4], ["bgra8", 4], ["mono8", 1], ["mono16", 2]] as const;
  for (const [encoding, bpp] of cases) {
    const width = 5, height = 3, step = width * bpp + 2;
    const data = new Uint8Array(step * height).map((_, i) => i * 3);
    const bytes = encodeRawFrame({
      width,
      height,
      encoding,
      data,
      step,
      stamp: 12.5,
      seq: 7,
      frameId: "cam\u00e9",
    });
    assert.equal(bytes.length, RAW_FRAME_HEADER_BYTES + 5 + step * height);
    const f = decodeRawFrame(bytes);
    assert.deepEqual(f.image, { kind: "raw", width, height, encoding, step, bigEndian: false, data });
    assert.equal(f.stamp, 12.5);
    assert.equal(f.seq, 7);
    assert.equal(f.frameId, "cam\u00e9");
  }
  const be = decodeRawFrame(
    encodeRawFrame({ width: 1, height: 1, encoding: "mono16", data: new Uint8Array(2), bigEndian: true }),
  );
  assert.equal(be.image.bigEndian, true);
  assert.equal(be.stamp, null);
});

Deno.test("decodeRawFrame() rejects bad magic, version, encoding, absurd sizes and length mismatches", () => {
  const good = encodeRawFrame({ width: 2, height: 2, encoding: "mono8", data: new Uint8Array(4) });
  const mutate = (f: (b: Uint8Array, dv: DataView) => void) => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const cases: [Uint8Array, RegExp][] = [
    [mutate((b) => (b[0] = 0)), /magic/],
    [mutate((b) => (b[4] = 2)), /'version' must be 1/],
    [mutate((b) => (b[5] = 9)), /'encoding' must be a code/],
    [mutate((_, dv) => dv.setUint32(8, 1_000_000, true)), /'width' must be in/],
    [mutate((_, dv) => dv.setUint32(12, 0, true)), /'height' must be in/],
    [mutate((_, dv) => dv.setUint32(16, 1, true)), /'step' must be >=/],
    [good.subarray(0, good.length - 1), /bytes were expected/],
    [good.subarray(0, 20), /header needs 32/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => decodeRawFrame(bytes),
      (e: unknown) => e instanceof FrameFormatError && re.test(e.message),
    );
  }
});
