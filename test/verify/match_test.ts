import assert from "node:assert/strict";
import { matchDescriptors, nearestNeighbours } from "../../src/verify/match.ts";
import { onnxNearestNeighbours } from "../../src/verify/onnx_matcher.ts";
import { mulberry32 } from "../../src/_rng.ts";

function randomUnit(n: number, dim: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = r() - 0.5;
      out[i * dim + k] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dim; k++) out[i * dim + k] *= inv;
  }
  return out;
}

function permuted(a: Float32Array, dim: number, perm: number[], noise: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(a.length);
  perm.forEach((src, dst) => {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = a[src * dim + k] + noise * (r() - 0.5);
      out[dst * dim + k] = v;
      s += v * v;
    }
    for (let k = 0; k < dim; k++) out[dst * dim + k] /= Math.sqrt(s);
  });
  return out;
}

function shuffle(n: number, seed: number): number[] {
  const r = mulberry32(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

Deno.test("matchDescriptors() recovers a known permutation of noisy descriptors", () => {
  const dim = 40, n = 203;
  const a = randomUnit(n, dim, 1);
  const perm = shuffle(n, 2); // b[j] = a[perm[j]]
  const b = permuted(a, dim, perm, 0.05, 3);
  const m = matchDescriptors(a, b, dim);
  assert.equal(m.count, n);
  for (let k = 0; k < m.count; k++) assert.equal(perm[m.candidateIndex[k]], m.queryIndex[k]);
});

Deno.test("matchDescriptors() drops pairs beyond the distance threshold and non-mutual pairs", () => {
  const dim = 40;
  const a = randomUnit(50, dim, 4);
  const b = randomUnit(60, dim, 5); // unrelated: random 40-d unit vectors are ~1.41 apart
  assert.equal(matchDescriptors(a, b, dim, { maxDistance: 0.8 }).count, 0);
  // Two queries share one nearest candidate: only the closer one is mutual.
  const q = new Float32Array([1, 0, 0.8, 0.6]);
  const c = new Float32Array([1, 0, -1, 0]);
  const m = matchDescriptors(q, c, 2, { maxDistance: 2 });
  assert.equal(m.count, 1);
  assert.equal(m.queryIndex[0], 0);
  assert.equal(m.candidateIndex[0], 0);
});

Deno.test("nearestNeighbours() handles empty sets and rejects bad shapes", () => {
  const nn = nearestNeighbours(new Float32Array(0), new Float32Array(8), 4);
  assert.equal(nn.rowIndex.length, 0);
  assert.deepEqual(Array.from(nn.colIndex), [-1, -1]);
  assert.throws(() => nearestNeighbours(new Float32Array(5), new Float32Array(8), 4), /a.length/);
});

Deno.test("onnxNearestNeighbours() agrees with the JavaScript kernel", async () => {
  const dim = 40;
  const a = randomUnit(300, dim, 6);
  const b = permuted(a, dim, shuffle(300, 7), 0.3, 8);
  const js = nearestNeighbours(a, b, dim);
  const onnx = await (await onnxNearestNeighbours())(a, b, dim);
  assert.deepEqual(Array.from(onnx.rowIndex), Array.from(js.rowIndex));
  assert.deepEqual(Array.from(onnx.colIndex), Array.from(js.colIndex));
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(onnx.rowSim[i] - js.rowSim[i]) < 1e-4);
});
