import assert from "node:assert/strict";
import { TopK } from "../../src/index/_top_k.ts";
import { mulberry32 } from "../../src/_rng.ts";

Deno.test("TopK keeps the k best scores of a stream, best first, ties by smaller id", () => {
  const rand = mulberry32(5);
  const scores = Array.from({ length: 1000 }, () => Math.round(rand() * 50) / 50);
  const top = new TopK(10);
  scores.forEach((s, id) => top.push(s, id));
  const expected = scores.map((s, id) => ({ id, similarity: s }))
    .sort((a, b) => b.similarity - a.similarity || a.id - b.id).slice(0, 10);
  assert.deepEqual(top.sorted(), expected);
  assert.equal(top.size, 10);
  assert.equal(top.threshold, expected[9].similarity);
});

Deno.test("TopK with k = 0 accepts nothing and holds fewer than k when fed fewer", () => {
  const none = new TopK(0);
  none.push(1, 1);
  assert.deepEqual(none.sorted(), []);
  const few = new TopK(5);
  few.push(0.5, 3);
  few.push(0.9, 1);
  assert.equal(few.full, false);
  assert.equal(few.threshold, -Infinity);
  assert.deepEqual(few.sorted().map((h) => h.id), [1, 3]);
});
