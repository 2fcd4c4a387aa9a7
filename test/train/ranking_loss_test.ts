import assert from "node:assert/strict";
import { rankingLoss, rankingLossWithGradients } from "../../src/train/ranking_loss.ts";
import { ValidationError } from "../../src/errors.ts";
import { needsShared, sharedPath } from "../_shared.ts";

interface LossCase {
  q: number[];
  positives: number[];
  negatives: number[];
  D: number;
  P: number;
  Nneg: number;
  margin: number;
  loss: number;
}

function rows(flat: number[], n: number, d: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < n; i++) out.push(Float64Array.from(flat.slice(i * d, (i + 1) * d)));
  return out;
}

Deno.test({
  name: "rankingLoss() equals the reference loss of ranking_loss.json to 1e-5",
  ...needsShared(),
  fn() {
    const cases = JSON.parse(
      Deno.readTextFileSync(sharedPath("testvectors/netvlad/ranking_loss.json")),
    ) as LossCase[];
    assert.ok(cases.length > 0);
    for (const c of cases) {
      const pos = rows(c.positives, c.P, c.D);
      const neg = rows(c.negatives, c.Nneg, c.D);
      const r = rankingLoss(Float64Array.from(c.q), pos, neg, c.margin);
      assert.ok(Math.abs(r.loss - c.loss) <= 1e-5, `loss ${r.loss} vs reference ${c.loss}`);
      const g = rankingLossWithGradients(Float32Array.from(c.q), pos, neg, c.margin);
      assert.ok(Math.abs(g.loss - c.loss) <= 1e-5);
    }
  },
});

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

Deno.test("rankingLossWithGradients() matches central finite differences for q, p* and every n_j", () => {
  const r = rand(7);
  const D = 6;
  const q = Float64Array.from({ length: D }, r);
  const pos = [0, 1, 2].map(() => Float64Array.from({ length: D }, () => r() * 0.6));
  const neg = [0, 1, 2, 3].map(() => Float64Array.from({ length: D }, () => r() * 0.8));
  const m = 0.5;
  const g = rankingLossWithGradients(q, pos, neg, m);
  assert.ok(
    g.violations > 0 && g.violations < neg.length,
    "the test needs both violating and inactive negatives",
  );
  const h = 1e-6;
  const f = () => rankingLoss(q, pos, neg, m).loss;
  const fd = (v: Float64Array, i: number) => {
    const o = v[i];
    v[i] = o + h;
    const a = f();
    v[i] = o - h;
    const b = f();
    v[i] = o;
    return (a - b) / (2 * h);
  };
  for (let i = 0; i < D; i++) {
    assert.ok(Math.abs(fd(q, i) - g.dq[i]) < 1e-6, `dq[${i}]`);
    assert.ok(Math.abs(fd(pos[g.bestPositive], i) - g.dp[i]) < 1e-6, `dp[${i}]`);
    for (let j = 0; j < neg.length; j++) {
      assert.ok(Math.abs(fd(neg[j], i) - g.dn[j][i]) < 1e-6, `dn[${j}][${i}]`);
    }
    for (let k = 0; k < pos.length; k++) {
      if (k !== g.bestPositive) {
        assert.ok(Math.abs(fd(pos[k], i)) < 1e-9, "non-best positives get no gradient");
      }
    }
  }
});

Deno.test("rankingLoss() is zero with no negatives and rejects an empty positive set or a bad margin", () => {
  assert.equal(rankingLoss([0, 0], [[1, 1]], []).loss, 0);
  assert.throws(() => rankingLoss([0, 0], [], [[1, 1]]), ValidationError);
  assert.throws(() => rankingLoss([0, 0], [[1, 1]], [[1, 1]], -1), /margin/);
  assert.throws(() => rankingLoss([0, 0], [[1, 1, 1]], []), /positives/);
});
