import assert from "node:assert/strict";
import { dotRow, Rows } from "../../src/pipeline/descriptor_rows.ts";
import { RecentRing } from "../../src/pipeline/recent_ring.ts";
import { RowSample } from "../../src/pipeline/row_sample.ts";
import { ValidationError } from "../../src/errors.ts";

const vec = (...xs: number[]) => Float32Array.from(xs);

Deno.test("Rows (float32) keeps rows in order, dots them exactly and drops rows in place", () => {
  const rows = new Rows(false);
  for (let i = 0; i < 100; i++) rows.add(vec(i, 1, -i));
  assert.equal(rows.count, 100);
  assert.equal(rows.dim, 3);
  assert.deepEqual([...rows.row(7)], [7, 1, -7]);
  assert.equal(rows.dot(vec(1, 2, 3), 7), 7 + 2 - 21);
  rows.keepOnly((r) => r % 3 === 0);
  assert.equal(rows.count, 34);
  assert.deepEqual([...rows.row(2)], [6, 1, -6]);
  assert.throws(() => rows.add(vec(1, 2)), ValidationError);
});

Deno.test("Rows (int8) dots within the quantisation step, also after dropping rows", () => {
  const rows = new Rows(true, 600);
  const q = vec(0.3, -0.5, 0.8);
  for (let i = 0; i < 600; i++) rows.add(vec(Math.sin(i), Math.cos(i), 0.5));
  for (const r of [0, 1, 299, 599]) {
    const exact = 0.3 * Math.sin(r) - 0.5 * Math.cos(r) + 0.4;
    assert.ok(Math.abs(rows.dot(q, r) - exact) < 1e-2, `row ${r}`);
  }
  rows.keepOnly((r) => r >= 500);
  assert.equal(rows.count, 100);
  const exact = 0.3 * Math.sin(500) - 0.5 * Math.cos(500) + 0.4;
  assert.ok(Math.abs(rows.dot(q, 0) - exact) < 1e-2);
  // A zero row quantises to zeros, not NaN.
  rows.add(vec(0, 0, 0));
  assert.equal(rows.dot(q, rows.count - 1), 0);
});

Deno.test("dotRow reads the row at an offset", () => {
  assert.equal(dotRow(vec(1, 2), vec(9, 9, 3, 4), 2), 11);
});

Deno.test("RecentRing holds the newest rows, oldest first, filtered by ordinal", () => {
  const ring = new RecentRing(3);
  const q = vec(1, 0);
  for (let o = 0; o < 5; o++) ring.push(o, vec(o, 0));
  assert.deepEqual(ring.dotsFrom(q, 0), [2, 3, 4]);
  assert.deepEqual(ring.dotsFrom(q, 3), [3, 4]);
  const none = new RecentRing(0);
  none.push(0, vec(1, 0));
  assert.deepEqual(none.dotsFrom(q, 0), []);
});

Deno.test("RowSample keeps an evenly strided sample within its cap and gives the background below a bound", () => {
  const sample = new RowSample(4);
  const q = vec(1);
  for (let o = 0; o < 16; o++) sample.add(o, vec(o));
  // 16 rows into a cap of 4: the stride doubled to 4 (rows 0, 4, 8, 12).
  assert.equal(sample.stride, 4);
  const all = sample.background(q, Infinity)!;
  assert.equal(all.mean, 6);
  assert.ok(Math.abs(all.std - Math.sqrt(20)) < 1e-9);
  assert.deepEqual(sample.background(q, 5), { mean: 2, std: 2 });
  assert.equal(sample.background(q, 0), undefined);
});
