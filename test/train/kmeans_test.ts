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

/**
 * Reference: the blend's former own Lloyd loop (`shrunkKmeans` of `src/model/default_model.ts`, before it became
 * the kernel's `init` + `pseudoCounts`), kept here only to pin that the kernel's option gives the same centres.
 * It ran up to `iterations + 1` updates (an update after the last assignment pass too).
 */
function referenceShrunkKmeans(
  data: Float32Array,
  C: number,
  prior: Float32Array,
  pseudo: number,
  iterations: number,
): Float32Array {
  const K = prior.length / C, n = data.length / C;
  const centroids = new Float32Array(prior);
  const assign = new Int32Array(n).fill(-1);
  const sums = new Float64Array(K * C);
  const counts = new Float64Array(K);
  const cNorm = new Float64Array(K);
  for (let it = 0; it <= iterations; it++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < C; j++) s += centroids[k * C + j] ** 2;
      cNorm[k] = s;
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0, bestD = Infinity;
      for (let k = 0; k < K; k++) {
        let dot = 0;
        for (let j = 0; j < C; j++) dot += data[i * C + j] * centroids[k * C + j];
        const d = cNorm[k] - 2 * dot;
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      }
      if (assign[i] !== best) {
        changed++;
        assign[i] = best;
      }
    }
    if (it > 0 && changed / n < 1e-3) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const k = assign[i];
      counts[k]++;
      for (let j = 0; j < C; j++) sums[k * C + j] += data[i * C + j];
    }
    for (let k = 0; k < K; k++) {
      const w = counts[k] + pseudo;
      if (w <= 0) continue;
      for (let j = 0; j < C; j++) centroids[k * C + j] = (sums[k * C + j] + pseudo * prior[k * C + j]) / w;
    }
  }
  return centroids;
}

/** Unit-length random points (the blend clusters unit-length descriptors) and k prior centres among them. */
function unitData(seed: number, n: number, dim: number): Float32Array {
  const rand = seededRandom(seed);
  const data = new Float32Array(n * dim).map(() => rand() - 0.3);
  for (let i = 0; i < n; i++) {
    const row = data.subarray(i * dim, (i + 1) * dim);
    const norm = Math.hypot(...row);
    for (let j = 0; j < dim; j++) row[j] /= norm;
  }
  return data;
}

Deno.test("kmeans() with init + pseudoCounts gives the centres of the blend's former own MAP loop", () => {
  const dim = 16, k = 12;
  const data = unitData(21, 900, dim);
  const prior = unitData(22, k, dim);
  for (const pseudo of [0.5, 7.5, 40]) {
    for (const iterations of [0, 1, 3, 20]) {
      const expected = referenceShrunkKmeans(data, dim, prior, pseudo, iterations);
      // The former loop's `iterations` allowed one update more than the kernel's `maxIterations`.
      const got = kmeans(data, dim, k, { init: prior, pseudoCounts: pseudo, maxIterations: iterations + 1 });
      assert.deepEqual(got.centroids, expected, `pseudo ${pseudo}, iterations ${iterations}`);
    }
  }
});

Deno.test("kmeans() MAP centres are the pseudo-count means of their nearest-centre points", () => {
  const dim = 8, k = 6, n = 500;
  const data = unitData(5, n, dim);
  const init = unitData(6, k, dim);
  const init0 = new Float32Array(init);
  const pseudo = [0, 1, 2.5, 10, 30, 100];
  const r = kmeans(data, dim, k, { init, pseudoCounts: pseudo, maxIterations: 200, tolerance: 1e-9 });
  assert.deepEqual(init, init0, "init is not modified");
  // tolerance below 1 / n: it stops only when no point changes centre in a pass.
  assert.ok(r.iterations < 200, "converged: no point moved in the last pass");
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    // Nearest-centre assignment.
    const dist = (c: number) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (data[i * dim + j] - r.centroids[c * dim + j]) ** 2;
      return s;
    };
    const a = r.assignments[i];
    for (let c = 0; c < k; c++) assert.ok(dist(a) <= dist(c) + 1e-6, `point ${i}: centre ${a} is nearest`);
    counts[a]++;
  }
  for (let c = 0; c < k; c++) {
    assert.ok(counts[c] > 0, `centre ${c} keeps points`);
    for (let j = 0; j < dim; j++) {
      let sum = 0;
      for (let i = 0; i < n; i++) if (r.assignments[i] === c) sum += data[i * dim + j];
      const expected: number = (sum + pseudo[c] * init[c * dim + j]) / (counts[c] + pseudo[c]);
      assert.ok(Math.abs(r.centroids[c * dim + j] - expected) < 1e-6, `centre ${c}[${j}]`);
    }
  }
  // The prior's pull: the heaviest prior keeps its centre closest to where it started.
  const moved = (c: number) =>
    Math.hypot(...[...init.subarray(c * dim, (c + 1) * dim)].map((v, j) => v - r.centroids[c * dim + j]));
  assert.ok(moved(5) < moved(0), `${moved(5)} < ${moved(0)}`);
});

Deno.test("kmeans() init without pseudo-counts is plain Lloyd from those centres; empty prior-held centres stay", () => {
  const dim = 2;
  const data = new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]);
  const plain = kmeans(data, dim, 2, { init: new Float32Array([0, 0, 10, 10]) });
  assert.deepEqual([...plain.centroids], [0, 0.5, 10, 10.5]);
  // A third centre far from every point: with pseudo-counts it stays at its prior (no points, weight p > 0).
  const init = new Float32Array([0, 0, 10, 10, 100, 100]);
  const r = kmeans(data, dim, 3, { init, pseudoCounts: 2 });
  assert.deepEqual([...r.centroids.subarray(4)], [100, 100]);
  assert.deepEqual([...r.centroids.subarray(0, 2)], [0, 0.25]); // (0+0, 0+1 + 2*(0,0)) / 4
});

Deno.test("kmeans() rejects bad init and pseudo-counts with a message naming them", () => {
  const data = new Float32Array(40);
  assert.throws(
    () => kmeans(data, 2, 2, { init: new Float32Array(3) }),
    /'init' must be a Float32Array of k \* dim = 4/,
  );
  assert.throws(() => kmeans(data, 2, 2, { pseudoCounts: 1 }), /'pseudoCounts' must be given only with init/);
  const init = new Float32Array(4);
  assert.throws(() => kmeans(data, 2, 2, { init, restarts: 2 }), /'restarts' must be 1 when init is given/);
  assert.throws(
    () => kmeans(data, 2, 2, { init, pseudoCounts: [1, 2, 3] }),
    /'pseudoCounts' must be a number or 2/,
  );
  assert.throws(() => kmeans(data, 2, 2, { init, pseudoCounts: -1 }), /'pseudoCounts\[0\]' must be a finite/);
  assert.throws(() => kmeans(data, 2, 2, { init, pseudoCounts: [1, NaN] }), ValidationError);
});
