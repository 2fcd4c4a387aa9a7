import assert from "node:assert/strict";
import { fitPcaWhitening, symmetricEigen } from "../../src/train/pca.ts";
import { Rng } from "../../src/train/rng.ts";

Deno.test("symmetricEigen() returns sorted eigenpairs with A v = lambda v", () => {
  const r = new Rng(1);
  const n = 12;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r.normal();
  }
  const { values, vectors } = symmetricEigen(a, n);
  for (let k = 0; k < n; k++) {
    if (k > 0) assert.ok(values[k] <= values[k - 1]);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += a[i * n + j] * vectors[k * n + j];
      assert.ok(Math.abs(av - values[k] * vectors[k * n + i]) < 1e-9);
    }
  }
});

Deno.test("fitPcaWhitening() gives uncorrelated unit-variance outputs on its training data", () => {
  const r = new Rng(2);
  const N = 40, D = 100, out = 5;
  const basis = Array.from({ length: 8 }, () => Float64Array.from({ length: D }, () => r.normal()));
  const data = Array.from({ length: N }, () => {
    const v = new Float64Array(D);
    basis.forEach((b, i) => {
      const c = r.normal() * (8 - i);
      for (let d = 0; d < D; d++) v[d] += c * b[d];
    });
    return v;
  });
  const w = fitPcaWhitening(data, out, 0);
  const ys = data.map((v) =>
    Array.from({ length: out }, (_, i) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += w.matrix[i * D + d] * (v[d] - w.mean[d]);
      return s;
    })
  );
  for (let i = 0; i < out; i++) {
    for (let j = 0; j < out; j++) {
      const cov = ys.reduce((s, y) => s + y[i] * y[j], 0) / N;
      assert.ok(Math.abs(cov - (i === j ? 1 : 0)) < 1e-6, `cov[${i}][${j}] = ${cov}`);
    }
  }
  assert.throws(() => fitPcaWhitening(data, N), /outDim/);
});
