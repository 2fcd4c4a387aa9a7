import assert from "node:assert/strict";
import {
  headBackward,
  headForward,
  type HeadParams,
  type PreparedFeatures,
  prepareFeatures,
  zeroGradients,
} from "../../src/train/netvlad_grad.ts";
import { rankingLoss, rankingLossWithGradients } from "../../src/train/ranking_loss.ts";
import { needsShared, sharedPath } from "../_shared.ts";

interface VladCase {
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  x: number[];
  clusters: number[];
  conv_weight: number[];
  conv_bias: number[] | null;
  soft_assign: number[];
  vlad: number[];
}

for (const name of ["v1_small", "v2_small", "v1_wide"]) {
  Deno.test({
    name: `headForward() reproduces soft_assign and vlad of ${name}.json to 1e-5`,
    ...needsShared(),
    fn() {
      const t = JSON.parse(Deno.readTextFileSync(sharedPath(`testvectors/netvlad/${name}.json`))) as VladCase;
      const M = t.H * t.W;
      const p: HeadParams = {
        K: t.K,
        C: t.C,
        weight: Float64Array.from(t.conv_weight),
        bias: t.conv_bias ? Float64Array.from(t.conv_bias) : new Float64Array(t.K),
        centres: Float64Array.from(t.clusters),
      };
      for (let n = 0; n < t.N; n++) {
        const f = prepareFeatures(Float32Array.from(t.x.slice(n * t.C * M, (n + 1) * t.C * M)), t.C, M);
        const fw = headForward(p, f);
        for (let i = 0; i < t.K * M; i++) {
          assert.ok(
            Math.abs(fw.assign[i] - t.soft_assign[n * t.K * M + i]) <= 1e-5,
            `soft_assign[${n}][${i}]`,
          );
        }
        for (let i = 0; i < t.K * t.C; i++) {
          assert.ok(Math.abs(fw.output[i] - t.vlad[n * t.K * t.C + i]) <= 1e-5, `vlad[${n}][${i}]`);
        }
      }
    },
  });
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function randomFeatures(r: () => number, C: number, M: number, weighted = false): PreparedFeatures {
  const f = prepareFeatures(Float32Array.from({ length: C * M }, r), C, M);
  // Weights in [0, 1], some exactly 0 (a patch within the noise floor) and some 1.
  if (weighted) {
    f.weights = Float32Array.from({ length: M }, (_, m) => m % 4 === 0 ? 0 : Math.min(1, r() + 0.6));
  }
  return f;
}

function randomHead(r: () => number, K: number, C: number, outDim: number | null): HeadParams {
  const KC = K * C;
  return {
    K,
    C,
    weight: Float64Array.from({ length: KC }, () => r() * 6),
    bias: Float64Array.from({ length: K }, () => r()),
    centres: Float64Array.from({ length: KC }, () => r() * 0.5),
    whitening: outDim === null ? undefined : {
      outDim,
      matrix: Float64Array.from({ length: outDim * KC }, r),
      mean: Float64Array.from({ length: KC }, () => r() * 0.1),
    },
  };
}

/** Loss of a tuple computed through the head: the function whose gradient we check. */
function tupleLoss(
  p: HeadParams,
  q: PreparedFeatures,
  pos: PreparedFeatures[],
  neg: PreparedFeatures[],
  m: number,
) {
  const d = (f: PreparedFeatures) => headForward(p, f).output;
  return rankingLoss(d(q), pos.map(d), neg.map(d), m).loss;
}

for (
  const [outDim, powerNorm, weighted] of [[null, false, false], [5, false, false], [5, true, false], [
    5,
    true,
    true,
  ]] as const
) {
  Deno.test(
    `headBackward() + ranking loss gradients match finite differences for W, b, c${
      outDim ? ", P and mu (whitening)" : ""
    }${powerNorm ? " with power normalisation" : ""}${weighted ? " and weighted positions" : ""}`,
    () => {
      const r = lcg((outDim ?? 3) + (powerNorm ? 1 : 0) + (weighted ? 7 : 0));
      const K = 4;
      const C = 6;
      const M = 9;
      const p = randomHead(r, K, C, outDim);
      p.powerNorm = powerNorm;
      const q = randomFeatures(r, C, M, weighted);
      const pos = [randomFeatures(r, C, M, weighted), randomFeatures(r, C, M, weighted)];
      const neg = [0, 1, 2].map(() => randomFeatures(r, C, M, weighted));
      const margin = 2.0; // large, so that every negative violates and contributes
      // analytic
      const fq = headForward(p, q);
      const fp = pos.map((f) => headForward(p, f));
      const fn = neg.map((f) => headForward(p, f));
      const lg = rankingLossWithGradients(
        fq.output,
        fp.map((f) => f.output),
        fn.map((f) => f.output),
        margin,
      );
      assert.ok(lg.violations > 0);
      const g = zeroGradients(p);
      headBackward(p, q, fq, lg.dq, g);
      headBackward(p, pos[lg.bestPositive], fp[lg.bestPositive], lg.dp, g);
      neg.forEach((f, j) => headBackward(p, f, fn[j], lg.dn[j], g));
      // numeric
      const h = 1e-6;
      const check = (name: string, param: Float64Array, grad: Float64Array) => {
        for (let i = 0; i < param.length; i++) {
          const o = param[i];
          param[i] = o + h;
          const a = tupleLoss(p, q, pos, neg, margin);
          param[i] = o - h;
          const b = tupleLoss(p, q, pos, neg, margin);
          param[i] = o;
          const num = (a - b) / (2 * h);
          const tol = 1e-5 + 1e-4 * Math.abs(num);
          assert.ok(Math.abs(num - grad[i]) <= tol, `${name}[${i}]: analytic ${grad[i]} vs numeric ${num}`);
        }
      };
      check("weight", p.weight, g.weight);
      check("bias", p.bias, g.bias);
      check("centres", p.centres, g.centres);
      if (p.whitening) {
        check("whitening.matrix", p.whitening.matrix, g.whitening!.matrix);
        check("whitening.mean", p.whitening.mean, g.whitening!.mean);
      }
    },
  );
}

Deno.test("headForward() outputs a unit-norm descriptor with and without whitening", () => {
  const r = lcg(11);
  for (const outDim of [null, 7]) {
    const p = randomHead(r, 3, 5, outDim);
    const out = headForward(p, randomFeatures(r, 5, 12)).output;
    assert.equal(out.length, outDim ?? 15);
    const n = Math.sqrt(out.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(n - 1) < 1e-9);
  }
});
