import assert from "node:assert/strict";
import { quantile, recallAtN, summarizeLatency } from "../../src/eval/metrics.ts";

Deno.test("quantile() interpolates linearly between order statistics", () => {
  const v = [10, 1, 4, 3, 2, 5, 6, 7, 8, 9];
  assert.equal(quantile(v, 0), 1);
  assert.equal(quantile(v, 1), 10);
  assert.equal(quantile(v, 0.5), 5.5);
  assert.ok(Math.abs(quantile(v, 0.9) - 9.1) < 1e-12);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("summarizeLatency() gives p50/p90/p99, mean and max; zeros for no sample", () => {
  const s = summarizeLatency(Array.from({ length: 101 }, (_, i) => i));
  assert.deepEqual(s, { p50: 50, p90: 90, p99: 99, mean: 50, max: 100, count: 101 });
  assert.equal(summarizeLatency([]).count, 0);
});

Deno.test("recallAtN() counts a hit at the rank of the first true id and skips queries without truth", () => {
  const ranked = [[4, 2, 9], [1, 0, 3], [7, 8, 6], [5]];
  const truth = [[9], [1, 3], [0], []];
  const r = recallAtN(ranked, truth, [1, 2, 3]);
  assert.deepEqual(r.recall, { 1: 1 / 3, 2: 1 / 3, 3: 2 / 3 });
  assert.equal(r.evaluated, 3);
  assert.equal(r.withoutMatch, 1);
  assert.throws(() => recallAtN([[1]], [], [1]), RangeError);
});
