import assert from "node:assert/strict";
import { symmetricEigen } from "../../src/kernels/linalg.ts";
import { applyPca, fitPca } from "../../src/kernels/pca.ts";
import { seededRandom } from "../../src/kernels/kmeans.ts";

Deno.test("symmetricEigen() diagonalises a symmetric matrix, leaves it untouched, sorts values descending", () => {
  const a = new Float64Array([4, 1, 0, 1, 3, 1, 0, 1, 2]);
  const copy = a.slice();
  const { values, vectors } = symmetricEigen(a, 3);
  assert.deepEqual(a, copy);
  assert.ok(values[0] >= values[1] && values[1] >= values[2]);
  for (let k = 0; k < 3; k++) {
    // Row k is the eigenvector of values[k].
    for (let i = 0; i < 3; i++) {
      let av = 0;
      for (let j = 0; j < 3; j++) av += a[i * 3 + j] * vectors[k * 3 + j];
      assert.ok(Math.abs(av - values[k] * vectors[k * 3 + i]) < 1e-9);
    }
  }
});

/** Population covariance of the rows, then the residual |C a - lambda a| of each fitted (unwhitened) axis. */
function axisResiduals(data: Float32Array, d: number, components: Float32Array, eig: Float32Array): number[] {
  const n = data.length / d;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < d; p++) {
      for (let q = 0; q < d; q++) {
        cov[p * d + q] += (data[i * d + p] - mean[p]) * (data[i * d + q] - mean[q]) / n;
      }
    }
  }
  return Array.from(eig, (lambda, r) => {
    let worst = 0;
    for (let p = 0; p < d; p++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += cov[p * d + q] * components[r * d + q];
      worst = Math.max(worst, Math.abs(s - lambda * components[r * d + p]));
    }
    return worst;
  });
}

Deno.test("fitPca() gives unit covariance eigen-axes and population variances by either route", () => {
  const rand = seededRandom(11);
  // 6 samples of 10-d (Gram route) and 400 samples of 10-d (covariance route).
  for (const n of [6, 400]) {
    const d = 10;
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) data[i * d + j] = (rand() - 0.5) * (j + 1);
    }
    const p = fitPca(data, d, 3, { whiten: false });
    for (let r = 0; r < 3; r++) {
      assert.ok(
        Math.abs(Math.hypot(...p.components.subarray(r * d, r * d + d)) - 1) < 1e-5,
        `n=${n} unit axis`,
      );
    }
    assert.ok(p.eigenvalues[0] >= p.eigenvalues[1] && p.eigenvalues[1] >= p.eigenvalues[2]);
    for (const res of axisResiduals(data, d, p.components, p.eigenvalues)) {
      assert.ok(res < 1e-4 * p.eigenvalues[0], `n=${n}: residual ${res}`);
    }
    const y = applyPca(p, data);
    assert.equal(y.length, n * 3);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(Math.hypot(...y.subarray(i * 3, i * 3 + 3)) - 1) < 1e-5);
  }
});

Deno.test("fitPca() rejects more axes than samples - 1 or input dimensions", () => {
  assert.throws(() => fitPca(new Float32Array(12), 3, 4), /'dim' must be an integer in \[1, 3\]/);
  assert.throws(() => fitPca(new Float32Array(6), 3, 2), /'dim' must be an integer in \[1, 1\]/);
  assert.throws(() => fitPca(new Float32Array(5), 2, 1), /'data.length'/);
  assert.throws(
    () => applyPca(fitPca(new Float32Array([0, 1, 1, 0, 2, 2]), 2, 1), new Float32Array(3)),
    /rows/,
  );
});
