import assert from "node:assert/strict";
import { applyPca, fitPca } from "../../src/model/pca.ts";
import { seededRandom } from "../../src/train/kmeans.ts";

Deno.test("fitPca() finds the dominant direction and whitening equalises variances", () => {
  const rand = seededRandom(4);
  const n = 300, d = 5;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const a = (rand() - 0.5) * 10, b = (rand() - 0.5) * 2;
    data[i * d] = a + 3;
    data[i * d + 1] = a;
    data[i * d + 2] = b;
    data[i * d + 3] = (rand() - 0.5) * 0.01;
    data[i * d + 4] = 1;
  }
  const p = fitPca(data, d, 2, { regulariser: 0 });
  const axis0 = Array.from(p.components.subarray(0, d));
  const len = Math.hypot(...axis0);
  assert.ok(
    Math.abs(Math.abs(axis0[0] / len) - Math.SQRT1_2) < 1e-3 &&
      Math.abs(Math.abs(axis0[1] / len) - Math.SQRT1_2) < 1e-3,
  );
  assert.ok(p.eigenvalues[0] > p.eigenvalues[1]);
  // Whitened projections have (about) unit variance on both axes.
  const vars = [0, 0];
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 2; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += p.components[r * d + j] * (data[i * d + j] - p.mean[j]);
      vars[r] += s * s / n;
    }
  }
  assert.ok(Math.abs(vars[0] - 1) < 1e-3 && Math.abs(vars[1] - 1) < 1e-3, `variances ${vars}`);
  assert.ok(Math.abs(Math.hypot(...applyPca(p, data.subarray(0, d))) - 1) < 1e-6);
  assert.throws(() => fitPca(data.subarray(0, 3 * d), d, 3), /'dim' must be an integer in \[1, 2\]/);
});
