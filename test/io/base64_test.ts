import assert from "node:assert/strict";
import { Base64Error, decodeBase64, encodeBase64 } from "../../src/io/base64.ts";

Deno.test("decodeBase64() matches atob on every length, padded or not", () => {
  for (let n = 0; n < 40; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 73 + n) & 0xff);
    const text = encodeBase64(bytes);
    assert.equal(text, btoa(String.fromCharCode(...bytes)));
    assert.deepEqual(decodeBase64(text), bytes);
    assert.deepEqual(decodeBase64(text.replace(/=+$/, "")), bytes);
  }
});

Deno.test("decodeBase64() rejects bad characters and impossible lengths instead of skipping them", () => {
  assert.throws(
    () => decodeBase64("/9j/4A*A"),
    (e: unknown) => e instanceof Base64Error && /'\*'|"\*"/.test(e.message),
  );
  assert.throws(() => decodeBase64("AAAAA"), /impossible length/);
  assert.throws(() => decodeBase64("AA=A"), Base64Error);
  assert.throws(() => decodeBase64("AAA\u00e9"), Base64Error);
  assert.throws(() => decodeBase64("AAAA\u0141AAA"), Base64Error);
  assert.throws(() => decodeBase64("A==="), Base64Error);
  assert.throws(() => decodeBase64("AAAA AAA"), /offset 4/);
});
