import assert from "node:assert/strict";
import { FrontEnd } from "../../src/model/default_model.ts";
import { DENSE_SIFT_DEFAULTS } from "../../src/model/dense_sift.ts";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { addNetVladLayer, netvladForward } from "../../src/model/netvlad.ts";
import { createSession } from "../../src/model/runtime.ts";
import { mulberry32 as seededRandom } from "../../src/_rng.ts";
import type { PixelImage } from "../../src/types.ts";

const W = 160, H = 120;

/** Left half: a dark wall with sensor noise (grey 20, sigma 5); right half: a bright checkerboard. */
function noisyDarkAndTextured(seed = 3): PixelImage {
  const rand = seededRandom(seed);
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v: number;
      if (x < W / 2) {
        // Box-Muller
        const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
        v = 20 + 5 * n;
      } else v = ((Math.floor(x / 8) + Math.floor(y / 8)) % 2) ? 220 : 40;
      data[y * W + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { width: W, height: H, channels: 1, data };
}

async function meanLengths(noiseFloor: number): Promise<{ noise: number; texture: number }> {
  const fe = await FrontEnd.create(W, H, { frontEnd: { ...DENSE_SIFT_DEFAULTS, noiseFloor } });
  try {
    const [d] = await fe.run([noisyDarkAndTextured()]);
    let noise = 0, texture = 0, nn = 0, nt = 0;
    for (let gy = 0; gy < d.gridHeight; gy++) {
      for (let gx = 0; gx < d.gridWidth; gx++) {
        const x = d.offset + gx * d.stride;
        let s = 0;
        const o = (gy * d.gridWidth + gx) * d.dim;
        for (let j = 0; j < d.dim; j++) s += d.descriptors[o + j] ** 2;
        // Only patches wholly inside one half (a descriptor spans 4 cells = 16 px).
        if (x < W / 2 - 10) (noise += Math.sqrt(s), nn++);
        else if (x > W / 2 + 10) (texture += Math.sqrt(s), nt++);
      }
    }
    return { noise: noise / nn, texture: texture / nt };
  } finally {
    await fe.close();
  }
}

Deno.test("the front end's noise floor gives sensor-noise patches no weight and textured patches full weight", async () => {
  const on = await meanLengths(3);
  assert.ok(on.noise < 0.1, `noise patches keep weight ${on.noise}`);
  assert.ok(on.texture > 0.9, `textured patches lose weight: ${on.texture}`);
  // Without the floor, every patch is a unit descriptor: noise looks like texture.
  const off = await meanLengths(0);
  assert.ok(off.noise > 0.99 && off.texture > 0.99, JSON.stringify(off));
});

const K = 3, C = 4, Hh = 2, Ww = 3, HW = Hh * Ww;

/** A small NetVLAD layer and NHWC rows of the given lengths (random directions), with their CHW copy. */
function tinyCase(seed: number, lengths: number[]) {
  const rand = seededRandom(seed);
  const centroids = new Float32Array(K * C).map(() => rand() - 0.5);
  const params = {
    clusters: K,
    dim: C,
    alpha: 5,
    weight: centroids.map((v) => 10 * v),
    bias: null,
    centroids,
  };
  const nhwc = new Float32Array(HW * C).map(() => rand() - 0.5);
  for (let p = 0; p < HW; p++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += nhwc[p * C + j] ** 2;
    for (let j = 0; j < C; j++) nhwc[p * C + j] *= lengths[p] / Math.sqrt(s);
  }
  const chw = new Float32Array(HW * C);
  for (let p = 0; p < HW; p++) for (let j = 0; j < C; j++) chw[j * HW + p] = nhwc[p * C + j];
  return { params, nhwc, chw };
}

Deno.test("the weighted NetVLAD graph equals the reference on descriptors of mixed length", async () => {
  // NHWC input; lengths 0, 0.3, 1, 2 (capped at 1).
  const { params, nhwc, chw } = tinyCase(5, [0, 0.3, 1, 2, 0.7, 1]);
  const ref = netvladForward(chw, params, { n: 1, height: Hh, width: Ww }, { weighted: true });
  const plain = netvladForward(chw, params, { n: 1, height: Hh, width: Ww });
  const g = new GraphBuilder("weighted_netvlad");
  const x = g.input("x", [1, Hh, Ww, C]);
  g.output(addNetVladLayer(g, x, params, { layout: "NHWC", weighted: true }).vlad, "vlad", [1, K * C]);
  const session = await createSession(g.toBytes(), { provider: "cpu", label: "weighted netvlad" });
  try {
    const out = await session.run({ x: { data: nhwc, dims: [1, Hh, Ww, C] } });
    let diffPlain = 0;
    for (let i = 0; i < K * C; i++) {
      assert.ok(
        Math.abs(out.vlad.data[i] - ref.vlad[i]) < 1e-5,
        `dim ${i}: ${out.vlad.data[i]} vs ${ref.vlad[i]}`,
      );
      diffPlain = Math.max(diffPlain, Math.abs(ref.vlad[i] - plain.vlad[i]));
    }
    assert.ok(diffPlain > 1e-3, "weighting must change the VLAD of descriptors of mixed length");
  } finally {
    await session.close();
  }
});

Deno.test("the NetVLAD layer on split descriptors (unit rows and their weights) equals the weighted reference", async () => {
  // Unit rows and weights in [0, 1]; a flat patch is a zero row of weight 0.
  const weights = new Float32Array([0, 0.3, 1, 0, 0.7, 0.5]);
  const { params, nhwc: unit } = tinyCase(8, [1, 1, 1, 0, 1, 1]);
  const { chw } = tinyCase(8, [0, 0.3, 1, 0, 0.7, 0.5]);
  const ref = netvladForward(chw, params, { n: 1, height: Hh, width: Ww }, { weighted: true });
  const g = new GraphBuilder("split_netvlad");
  const u = g.input("unit", [1, Hh, Ww, C]);
  const w = g.input("weight", [1, Hh, Ww, 1]);
  const layer = addNetVladLayer(g, g.mul(u, w), params, { layout: "NHWC", split: { unit: u, weight: w } });
  g.output(layer.vlad, "vlad", [1, K * C]);
  g.output(layer.softAssign, "soft_assign", [1, K, HW]);
  const session = await createSession(g.toBytes(), { provider: "cpu", label: "split netvlad" });
  try {
    const out = await session.run({
      unit: { data: unit, dims: [1, Hh, Ww, C] },
      weight: { data: weights, dims: [1, Hh, Ww, 1] },
    });
    for (let i = 0; i < K * C; i++) assert.ok(Math.abs(out.vlad.data[i] - ref.vlad[i]) < 1e-5, `dim ${i}`);
    for (let i = 0; i < K * HW; i++) {
      assert.ok(Math.abs(out.soft_assign.data[i] - ref.softAssign[i]) < 1e-5, `assignment ${i}`);
    }
  } finally {
    await session.close();
  }
  assert.throws(
    () => addNetVladLayer(new GraphBuilder("x"), "x", params, { split: { unit: "u", weight: "w" } }),
    /NHWC/,
  );
});
