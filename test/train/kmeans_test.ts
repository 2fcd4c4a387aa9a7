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

Deno.test("kmeans() with restarts keeps the run of lowest inertia; its first run is the single start", () => {
  const rand = seededRandom(4);
  const data = new Float32Array(1500 * 8).map(() => rand());
  const one = kmeans(data, 8, 24, { seed: 11 });
  assert.deepEqual(one.restartInertias, [one.inertia]);
  const many = kmeans(data, 8, 24, { seed: 11, restarts: 5 });
  assert.equal(many.restartInertias.length, 5);
  assert.equal(many.restartInertias[0], one.inertia);
  assert.equal(many.inertia, Math.min(...many.restartInertias));
  assert.ok(new Set(many.restartInertias).size > 1, "the restarts start from different centres");
  // The returned centres and assignments are those of the kept run: recompute its inertia from them.
  let inertia = 0;
  for (let i = 0; i < 1500; i++) {
    const c = many.assignments[i];
    for (let j = 0; j < 8; j++) inertia += (data[i * 8 + j] - many.centroids[c * 8 + j]) ** 2;
  }
  assert.ok(Math.abs(inertia - many.inertia) < 1e-3 * many.inertia, `${inertia} vs ${many.inertia}`);
});

Deno.test("kmeans() spherical keeps unit centres along the mean direction of their points", () => {
  const rand = seededRandom(6);
  const n = 600, dim = 4;
  // Unit points around two directions, e1 and e2.
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const v = [(rand() - 0.5) * 0.3, (rand() - 0.5) * 0.3, (rand() - 0.5) * 0.3, (rand() - 0.5) * 0.3];
    v[i % 2] += 1;
    const norm = Math.hypot(...v);
    for (let j = 0; j < dim; j++) data[i * dim + j] = v[j] / norm;
  }
  const plain = kmeans(data, dim, 2, { seed: 2 });
  const sph = kmeans(data, dim, 2, { seed: 2, spherical: true });
  assert.deepEqual(sph.assignments, plain.assignments, "same clusters on well-separated directions");
  for (let c = 0; c < 2; c++) {
    const centre = [...sph.centroids.subarray(c * dim, (c + 1) * dim)];
    assert.ok(Math.abs(Math.hypot(...centre) - 1) < 1e-5, `unit centre ${centre}`);
    const mean = [...plain.centroids.subarray(c * dim, (c + 1) * dim)];
    assert.ok(Math.hypot(...mean) < 0.99, "the plain mean of unit points lies inside the sphere");
    const cos = centre.reduce((a, x, j) => a + x * mean[j], 0) / Math.hypot(...mean);
    assert.ok(cos > 1 - 1e-5, `same direction (cos ${cos})`);
  }
});

Deno.test("kmeans() rejects a restart count that is not a positive integer", () => {
  const data = new Float32Array(40);
  assert.throws(() => kmeans(data, 2, 2, { restarts: 0 }), /'restarts' must be a positive integer/);
  assert.throws(() => kmeans(data, 2, 2, { restarts: 1.5 }), ValidationError);
});

Deno.test("kmeans() rejects k larger than the number of points and a ragged data length", () => {
  assert.throws(() => kmeans(new Float32Array(4), 2, 3), ValidationError);
  assert.throws(() => kmeans(new Float32Array(5), 2, 1), /multiple of dim/);
});

Deno.test("kmeans() on a large 128-d input returns k finite centroids and a valid assignment", () => {
  // Speed is measured by `deno task bench --only train` (train/kmeans_s); this test checks the result only.
  const rand = seededRandom(3);
  const n = 20000, dim = 128, k = 64;
  const data = new Float32Array(n * dim).map(() => rand());
  const r = kmeans(data, dim, k, { seed: 1, maxIterations: 6 });
  assert.equal(r.centroids.length, k * dim);
  assert.equal(r.assignments.length, n);
  assert.ok(r.centroids.every(Number.isFinite));
  const used = new Set<number>();
  for (const a of r.assignments) {
    assert.ok(Number.isInteger(a) && a >= 0 && a < k, `assignment ${a}`);
    used.add(a);
  }
  assert.equal(used.size, k, "every cluster keeps at least one point");
  assert.ok(r.iterations > 0 && r.iterations <= 6);
});
