import assert from "node:assert/strict";
import { needsShared, sharedPath } from "../_shared.ts";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { addNetVladLayer, initParams, netvladForward, type NetVladParams } from "../../src/model/netvlad.ts";
import { createSession } from "../../src/model/runtime.ts";
import { ValidationError } from "../../src/errors.ts";

interface Case {
  name: string;
  vladv2: boolean;
  N: number;
  C: number;
  H: number;
  W: number;
  K: number;
  traindescs: number[];
  clusters: number[];
  alpha: number;
  conv_weight: number[];
  conv_bias: number[] | null;
  x: number[];
  soft_assign: number[];
  vlad: number[];
}

function loadCase(name: string): Case {
  return JSON.parse(Deno.readTextFileSync(sharedPath(`testvectors/netvlad/${name}.json`)));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function paramsOf(c: Case): NetVladParams {
  return initParams(
    { data: new Float32Array(c.clusters), rows: c.K, cols: c.C },
    { data: new Float32Array(c.traindescs), rows: c.traindescs.length / c.C, cols: c.C },
    c.vladv2 ? "vladv2" : "vladv1",
  );
}

for (const name of ["v1_small", "v2_small", "v1_wide"]) {
  Deno.test({
    name: `initParams() reproduces alpha, conv weights and bias of ${name}`,
    ...needsShared(),
    fn() {
      const c = loadCase(name);
      const p = paramsOf(c);
      assert.ok(Math.abs(p.alpha - c.alpha) / c.alpha < 1e-4, `alpha ${p.alpha} vs ${c.alpha}`);
      assert.ok(maxAbsDiff(p.weight, c.conv_weight) < 1e-4 * Math.max(1, c.alpha));
      if (c.conv_bias === null) assert.equal(p.bias, null);
      else assert.ok(maxAbsDiff(p.bias!, c.conv_bias) < 1e-4 * Math.max(1, c.alpha));
    },
  });

  Deno.test({
    name: `netvladForward() matches soft assignment and VLAD of ${name} to 1e-5`,
    ...needsShared(),
    fn() {
      const c = loadCase(name);
      const p = paramsOf(c);
      const out = netvladForward(new Float32Array(c.x), p, { n: c.N, height: c.H, width: c.W });
      assert.ok(maxAbsDiff(out.softAssign, c.soft_assign) < 1e-5);
      assert.ok(maxAbsDiff(out.vlad, c.vlad) < 1e-5);
    },
  });

  Deno.test({
    name: `the ONNX NetVLAD graph run by onnxruntime matches soft assignment and VLAD of ${name} to 1e-5`,
    ...needsShared(),
    async fn() {
      const c = loadCase(name);
      const p = paramsOf(c);
      const g = new GraphBuilder("netvlad");
      const x = g.input("x", ["N", c.C, "H", "W"]);
      const { softAssign, vlad } = addNetVladLayer(g, x, p);
      g.output(softAssign, "soft_assign", ["N", c.K, "HW"]);
      g.output(vlad, "vlad", ["N", c.K * c.C]);
      const s = await createSession(g.toBytes(), { provider: "cpu" });
      try {
        const out = await s.run({ x: { data: new Float32Array(c.x), dims: [c.N, c.C, c.H, c.W] } });
        assert.deepEqual(out.vlad.dims, [c.N, c.K * c.C]);
        assert.ok(maxAbsDiff(out.soft_assign.data, c.soft_assign) < 1e-5);
        assert.ok(maxAbsDiff(out.vlad.data, c.vlad) < 1e-5);
      } finally {
        await s.close();
      }
    },
  });
}

Deno.test("initParams() rejects descriptors whose dimension differs from the clusters'", () => {
  assert.throws(
    () =>
      initParams({ data: new Float32Array(4), rows: 2, cols: 2 }, {
        data: new Float32Array(3),
        rows: 1,
        cols: 3,
      }),
    ValidationError,
  );
});

Deno.test("netvladForward() gives a unit-norm vector for a zero input", () => {
  const p: NetVladParams = {
    clusters: 2,
    dim: 2,
    alpha: 1,
    weight: new Float32Array([1, 0, 0, 1]),
    bias: null,
    centroids: new Float32Array([1, 0, 0, 1]),
  };
  const out = netvladForward(new Float32Array(4), p, { n: 1, height: 1, width: 2 });
  const norm = Math.hypot(...out.vlad);
  assert.ok(Math.abs(norm - 1) < 1e-6);
});
