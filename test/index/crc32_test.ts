import assert from "node:assert/strict";
import { crc32, crc32File } from "../../src/index/_crc32.ts";

Deno.test("crc32 matches the IEEE check value and is incremental over any split", () => {
  const bytes = new TextEncoder().encode("123456789");
  assert.equal(crc32(bytes), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.equal(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut))), 0xcbf43926);
  }
});

Deno.test("crc32File reads a file in chunks and equals crc32 of its bytes", async () => {
  const path = await Deno.makeTempFile();
  try {
    const bytes = Uint8Array.from({ length: 10_007 }, (_, i) => (i * 31 + 7) & 0xff);
    await Deno.writeFile(path, bytes);
    assert.equal(await crc32File(path, 1000), crc32(bytes));
  } finally {
    await Deno.remove(path);
  }
});
