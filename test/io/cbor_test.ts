import assert from "node:assert/strict";
import { CborError } from "../../src/errors.ts";
import { CborSimple, CborTag, decodeCbor, encodeCbor } from "../../src/io/cbor.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

// RFC 8949 Appendix A (numeric map keys come back as string keys of a plain object).
const VECTORS: [string, unknown][] = [
  ["00", 0],
  ["01", 1],
  ["0a", 10],
  ["17", 23],
  ["1818", 24],
  ["1819", 25],
  ["1864", 100],
  ["1903e8", 1000],
  ["1a000f4240", 1000000],
  ["1b000000e8d4a51000", 1000000000000],
  ["1bffffffffffffffff", 18446744073709551615n],
  ["c249010000000000000000", 18446744073709551616n],
  ["3bffffffffffffffff", -18446744073709551616n],
  ["c349010000000000000000", -18446744073709551617n],
  ["20", -1],
  ["29", -10],
  ["3863", -100],
  ["3903e7", -1000],
  ["f90000", 0],
  ["f98000", -0],
  ["f93c00", 1],
  ["fb3ff199999999999a", 1.1],
  ["f93e00", 1.5],
  ["f97bff", 65504],
  ["fa47c35000", 100000],
  ["fa7f7fffff", 3.4028234663852886e+38],
  ["fb7e37e43c8800759c", 1.0e+300],
  ["f90001", 5.960464477539063e-8],
  ["f90400", 0.00006103515625],
  ["f9c400", -4],
  ["fbc010666666666666", -4.1],
  ["f97c00", Infinity],
  ["f97e00", NaN],
  ["f9fc00", -Infinity],
  ["fa7f800000", Infinity],
  ["fb7ff8000000000000", NaN],
  ["f4", false],
  ["f5", true],
  ["f6", null],
  ["f7", undefined],
  ["f0", new CborSimple(16)],
  ["f8ff", new CborSimple(255)],
  ["c074323031332d30332d32315432303a30343a30305a", new CborTag(0, "2013-03-21T20:04:00Z")],
  ["c11a514b67b0", new CborTag(1, 1363896240)],
  ["d74401020304", new CborTag(23, new Uint8Array([1, 2, 3, 4]))],
  ["40", new Uint8Array(0)],
  ["4401020304", new Uint8Array([1, 2, 3, 4])],
  ["60", ""],
  ["6161", "a"],
  ["6449455446", "IETF"],
  ["62225c", '"\\'],
  ["62c3bc", "\u00fc"],
  ["63e6b0b4", "\u6c34"],
  ["64f0908591", "\ud800\udd51"],
  ["80", []],
  ["83010203", [1, 2, 3]],
  ["8301820203820405", [1, [2, 3], [4, 5]]],
  [
    "98190102030405060708090a0b0c0d0e0f101112131415161718181819",
    Array.from({ length: 25 }, (_, i) => i + 1),
  ],
  ["a0", {}],
  ["a201020304", { "1": 2, "3": 4 }],
  ["a26161016162820203", { a: 1, b: [2, 3] }],
  ["826161a161626163", ["a", { b: "c" }]],
  ["5f42010243030405ff", new Uint8Array([1, 2, 3, 4, 5])],
  ["7f657374726561646d696e67ff", "streaming"],
  ["9fff", []],
  ["9f018202039f0405ffff", [1, [2, 3], [4, 5]]],
  ["83018202039f0405ff", [1, [2, 3], [4, 5]]],
  ["83019f0203ff820405", [1, [2, 3], [4, 5]]],
  ["bf61610161629f0203ffff", { a: 1, b: [2, 3] }],
  ["826161bf61626163ff", ["a", { b: "c" }]],
  ["bf6346756ef563416d7421ff", { Fun: true, Amt: -2 }],
];

Deno.test("decodeCbor() decodes every RFC 8949 Appendix A example", () => {
  for (const [h, expected] of VECTORS) {
    const got = decodeCbor(hex(h));
    if (typeof expected === "number" && Number.isNaN(expected)) assert.ok(Number.isNaN(got as number), h);
    else assert.deepEqual(got, expected, h);
  }
});

Deno.test("decodeCbor() returns a Map when keys are not all strings or numbers", () => {
  const got = decodeCbor(hex("a1f5f4")) as Map<unknown, unknown>; // {true: false}
  assert.ok(got instanceof Map);
  assert.equal(got.get(true), false);
});

Deno.test("decodeCbor() maps RFC 8746 typed-array tags to typed arrays in either byte order", () => {
  assert.deepEqual(decodeCbor(hex("d8464801000000ffffffff")), new Uint32Array([1, 0xffffffff])); // tag 70 LE
  assert.deepEqual(decodeCbor(hex("d84144000102ff")), new Uint16Array([1, 0x2ff])); // tag 65 BE
  assert.deepEqual(decodeCbor(hex("d848420180")), new Int8Array([1, -128])); // tag 72
  assert.deepEqual(decodeCbor(hex("d851443fc00000")), new Float32Array([1.5])); // tag 81 f32 BE
  assert.deepEqual(decodeCbor(hex("d8554400000000")), new Float32Array([0])); // tag 85 f32 LE
  assert.deepEqual(decodeCbor(hex("d85444003c00c0")), new Float32Array([1, -2])); // f16 LE
  assert.deepEqual(decodeCbor(hex("d840420102")), new Uint8Array([1, 2])); // tag 64
  assert.throws(() => decodeCbor(hex("d84643010000")), CborError); // 3 bytes is not a whole uint32
  assert.throws(() => decodeCbor(hex("d84601")), CborError); // not a byte string
});

Deno.test("encodeCbor() round-trips values, typed arrays and 64-bit integers", () => {
  const value = {
    op: "publish",
    topic: "/camera/image",
    msg: {
      header: { seq: 7, stamp: { secs: 1795779014, nsecs: 342281818 }, frame_id: "cam" },
      data: new Uint8Array([0xff, 0xd8, 0xff]),
      floats: new Float32Array([1.5, -2.25]),
      doubles: new Float64Array([Math.PI]),
      u16: new Uint16Array([65535, 1]),
      i32: new Int32Array([-5, 5]),
      big: 2n ** 64n + 1n,
      neg: -(2n ** 63n),
      ints: [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, -1, -(2 ** 40), Number.MAX_SAFE_INTEGER],
      f: [0.1, 1e300, -0, NaN, Infinity],
      flags: [true, false, null],
      text: "h\u00e9llo \ud83d\ude00",
    },
  };
  const back = decodeCbor(encodeCbor(value)) as typeof value;
  assert.deepEqual(back.msg.header, value.msg.header);
  assert.deepEqual(back.msg.data, value.msg.data);
  assert.deepEqual(back.msg.floats, value.msg.floats);
  assert.deepEqual(back.msg.doubles, value.msg.doubles);
  assert.deepEqual(back.msg.u16, value.msg.u16);
  assert.deepEqual(back.msg.i32, value.msg.i32);
  assert.equal(back.msg.big, value.msg.big);
  assert.equal(back.msg.neg, value.msg.neg);
  assert.deepEqual(back.msg.ints, value.msg.ints);
  assert.deepEqual(back.msg.f, value.msg.f);
  assert.deepEqual(back.msg.flags, value.msg.flags);
  assert.equal(back.msg.text, value.msg.text);
  assert.equal(toHex(encodeCbor(1000000)), "1a000f4240");
  assert.equal(toHex(encodeCbor([1, [2, 3]])), "8201820203");
  assert.equal(toHex(encodeCbor(1.5)), "fa3fc00000");
});

Deno.test("decodeCbor() rejects malformed and truncated input with CborError", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["18", /truncated/],
    ["1901", /truncated/],
    ["1a0102", /truncated/],
    ["6261", /declares 2/],
    ["81", /declares 1/],
    ["a101", /declares 1/],
    ["a11901", /truncated/],
    ["821901", /truncated/],
    ["1c", /reserved/],
    ["5f01ff", /chunk/],
    ["7f4100ff", /chunk/],
    ["ff", /break/],
    ["9f01", /truncated/],
    ["62c328", /UTF-8/],
    ["0000", /trailing/],
    ["f810", /one-byte form/],
    ["1f", /indefinite/],
    ["c0ff", /break/],
  ];
  for (const [h, re] of bad) {
    assert.throws(() => decodeCbor(h ? hex(h) : new Uint8Array(0)), (e: unknown) => {
      assert.ok(e instanceof CborError, `${h}: ${e}`);
      assert.match((e as Error).message, re, h);
      return true;
    });
  }
});

Deno.test("decodeCbor() rejects huge declared sizes before allocating, and deep nesting", () => {
  // byte string of 2^32 bytes, array of 2^62 items, map of 2^31 entries, text of 2^64-1 bytes
  for (const h of ["5b0000000100000000", "9b4000000000000000", "ba80000000", "7bffffffffffffffff"]) {
    assert.throws(() => decodeCbor(hex(h + "00")), CborError, h);
  }
  assert.throws(() => decodeCbor(hex("5a00100000" + "00".repeat(16))), /but only 16 bytes remain/);
  assert.throws(() => decodeCbor(hex("81".repeat(100) + "00")), /nesting deeper than 64/);
  assert.throws(() => decodeCbor(hex("9f".repeat(100) + "ff".repeat(100))), /nesting/);
  assert.throws(() => decodeCbor(hex("4401020304"), { maxLength: 3 }), /exceeds the limit 3/);
  assert.deepEqual(decodeCbor(hex("81".repeat(10) + "00")), [[[[[[[[[[0]]]]]]]]]]);
});

Deno.test("decodeCbor() never lets a '__proto__' key change the prototype", () => {
  const got = decodeCbor(encodeCbor(new Map([["__proto__", { polluted: true }]]))) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(got), Object.prototype);
  assert.deepEqual(Object.keys(got), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
