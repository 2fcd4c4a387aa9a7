import assert from "node:assert/strict";
import { applyPca, fitPca } from "../../src/verify/pca.ts";
import { mulberry32 } from "../../src/_rng.ts";

Deno.test("fitPca() finds the dominant axes of anisotropic data, largest variance first", () => {
  const r = mulberry32(1);
  const n = 2000, d = 5;
  const rows = new Float32Array(n * d);
  const sd = [0.1, 3, 0.2, 1, 0.05];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) rows[i * d + k] = 7 + sd[k] * (r() + r() + r() - 1.5) * 2;
  }
  const pca = fitPca(rows, d, { outputDim: 2 });
  assert.ok(Math.abs(Math.abs(pca.components[1]) - 1) < 0.01, `first axis ${pca.components.slice(0, 5)}`);
  assert.ok(
    Math.abs(Math.abs(pca.components[5 + 3]) - 1) < 0.01,
    `second axis ${pca.components.slice(5, 10)}`,
  );
  assert.ok(pca.variances[0] > pca.variances[1]);
  assert.ok(Math.abs(pca.mean[0] - 7) < 0.05);
  const y = applyPca(pca, rows.subarray(0, 10 * d));
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(Math.hypot(y[2 * i], y[2 * i + 1]) - 1) < 1e-5);
});

Deno.test("fitPca() validates its options", () => {
  assert.throws(() => fitPca(new Float32Array(10), 3), /'dim'/);
  assert.throws(
    () => fitPca(new Float32Array(12), 3, { outputDim: 4 }),
    /'outputDim' must be an integer in \[1, 3\]/,
  );
  assert.throws(() => fitPca(new Float32Array(3), 3, { outputDim: 2 }), /at least 2 descriptors/);
});
