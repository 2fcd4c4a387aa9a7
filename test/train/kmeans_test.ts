import assert from "node:assert/strict";
import { kmeans, seededRandom } from "../../src/train/kmeans.ts";
import { ValidationError } from "../../src/errors.ts";

function blobs(seed: number, perBlob: number, centres: number[][], spread: number): Float32Array {
  const rand = seededRandom(seed);
  const dim = centres[0].length;
  const out = new Float32Array(centres.length * perBlob * dim);
  let o = 0;
  for (let i = 0; i < perBlob; i++) {
    for (const c of centres) for (let j = 0; j < dim; j++) out[o++] = c[j] + (rand() - 0.5) * spread;
  }
  return out;
}

Deno.test("kmeans() recovers well-separated blobs", () => {
  const centres = [[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]];
  const data = blobs(7, 200, centres, 1);
  const r = kmeans(data, 3, 4, { seed: 5 });
  // Points are interleaved blob by blob: point i belongs to blob i % 4.
  const label = new Map<number, number>();
  for (let i = 0; i < r.assignments.length; i++) {
    const blob = i % 4;
    if (!label.has(blob)) label.set(blob, r.assignments[i]);
    assert.equal(r.assignments[i], label.get(blob));
  }
  assert.equal(new Set(label.values()).size, 4);
  for (const c of centres) {
    let best = Infinity;
    for (let k = 0; k < 4; k++) {
      best = Math.min(best, Math.hypot(...c.map((v, j) => v - r.centroids[k * 3 + j])));
    }
    assert.ok(best < 0.2, `centre ${c} found within ${best}`);
  }
});

Deno.test("kmeans() is deterministic for a seed and differs across seeds on ambiguous data", () => {
  const rand = seededRandom(1);
  const data = new Float32Array(2000 * 8).map(() => rand());
  const a = kmeans(data, 8, 16, { seed: 42 });
  const b = kmeans(data, 8, 16, { seed: 42 });
  const c = kmeans(data, 8, 16, { seed: 43 });
  assert.deepEqual(a.centroids, b.centroids);
  assert.deepEqual(a.assignments, b.assignments);
  assert.notDeepEqual(a.centroids, c.centroids);
});

Deno.test("kmeans() lowers inertia compared with its k-means++ start", () => {
  const rand = seededRandom(9);
  const data = new Float32Array(3000 * 16).map(() => rand());
  const start = kmeans(data, 16, 32, { seed: 1, maxIterations: 0 });
  const done = kmeans(data, 16, 32, { seed: 1, maxIterations: 20 });
  assert.ok(done.inertia < start.inertia, `${done.inertia} < ${start.inertia}`);
  assert.ok(done.iterations > 0);
});

Deno.test("kmeans() rejects k larger than the number of points and a ragged data length", () => {
  assert.throws(() => kmeans(new Float32Array(4), 2, 3), ValidationError);
  assert.throws(() => kmeans(new Float32Array(5), 2, 1), /multiple of dim/);
});

Deno.test("kmeans() clusters 50k x 128 into 64 in a few seconds", () => {
  const rand = seededRandom(3);
  const data = new Float32Array(50000 * 128).map(() => rand());
  const t0 = performance.now();
  const r = kmeans(data, 128, 64, { seed: 1, maxIterations: 6 });
  const ms = performance.now() - t0;
  assert.equal(r.centroids.length, 64 * 128);
  assert.ok(ms < 30000, `took ${ms} ms`);
});
