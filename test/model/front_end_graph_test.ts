/**
 * The default model's graph as built now against the same graph as it was built before its front end was
 * rewritten for speed (one gathering convolution instead of 16 slices, fused SIFT normalisation, the NetVLAD layer
 * reusing the unit descriptors): `fixtures/dsift_netvlad_graph_v1.onnx` is the generic model of that time
 * (default front end with the noise floor, generic vocabulary). Same parameters, same images: the embeddings and
 * the local descriptors must agree to float rounding.
 */
import assert from "node:assert/strict";
import {
  buildDefaultModelGraph,
  buildFrontEndGraph,
  type DefaultModelParams,
} from "../../src/model/default_model.ts";
import { decodeModel } from "../../src/model/onnx_proto.ts";
import { createSession, type TensorData } from "../../src/model/runtime.ts";
import { prepareImage } from "../../src/image/prepare.ts";
import { toNchw } from "../../src/image/normalise.ts";
import { convertChannels } from "../../src/image/resize.ts";
import { createSimulator } from "../../src/io/simulator/simulator.ts";
import type { PixelImage } from "../../src/types.ts";
import { needsShared, sharedPath } from "../_shared.ts";

const W = 320, H = 240, K = 64, C = 128;
const FIXTURE = new URL("./fixtures/dsift_netvlad_graph_v1.onnx", import.meta.url);

/** The fixture's parameters: its front end and the NetVLAD weights and centroids stored in its graph. */
function fixtureParams(bytes: Uint8Array): DefaultModelParams {
  const inits = decodeModel(bytes).graph!.initializer!;
  const floats = (prefix: string) => {
    const raw = inits.find((t) => t.name!.startsWith(prefix))!.rawData!;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  };
  const wt = floats("netvlad_weight"); // [C, K]
  const weight = new Float32Array(K * C);
  for (let k = 0; k < K; k++) for (let j = 0; j < C; j++) weight[k * C + j] = wt[j * K + k];
  return {
    inputWidth: W,
    inputHeight: H,
    frontEnd: { cellSize: 4, gridStep: 1, smoothSigma: 1.6, contrastThreshold: 0, clip: true, noiseFloor: 3 },
    // alpha is folded into the weights; the graph does not read it.
    netvlad: { clusters: K, dim: C, alpha: 1, weight, bias: null, centroids: floats("netvlad_centroids") },
    powerNorm: true,
    pca: null,
  };
}

function cosineOf(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / Math.sqrt(aa * bb);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Run the fixture one image at a time and the rebuilt graph on the whole batch; compare both outputs. */
async function compare(images: PixelImage[]): Promise<{ global: number; local: number; cosine: number }> {
  const before = await Deno.readFile(FIXTURE);
  const after = buildDefaultModelGraph(fixtureParams(before));
  const old = await createSession(before, { provider: "cpu", label: "graph v1" });
  const now = await createSession(after, { provider: "cpu", label: "graph now" });
  try {
    const norm = { width: W, height: H, channels: 1 as const, mean: [0], std: [1] };
    const batch = await now.run({
      image: { data: toNchw(images, norm), dims: [images.length, 1, H, W] },
    });
    let global = 0, local = 0, cosine = 1;
    const part = (t: TensorData, b: number) => {
      const n = t.data.length / images.length;
      return t.data.subarray(b * n, (b + 1) * n);
    };
    for (let b = 0; b < images.length; b++) {
      const ref = await old.run({ image: { data: toNchw([images[b]], norm), dims: [1, 1, H, W] } });
      assert.deepEqual(batch.local.dims.slice(1), ref.local.dims.slice(1));
      const a = part(batch.global, b);
      global = Math.max(global, maxAbsDiff(a, ref.global.data));
      cosine = Math.min(cosine, cosineOf(a, ref.global.data));
      local = Math.max(local, maxAbsDiff(part(batch.local, b), ref.local.data));
    }
    return { global, local, cosine };
  } finally {
    await old.close();
    await now.close();
  }
}

/**
 * Local descriptors agree to float rounding. The embedding amplifies rounding (a softmax of sharpness ~67, the
 * residuals' cancellation, the signed square root near zero): the same graph run by ONNX Runtime with other
 * kernels (optimisation level "extended" instead of "all") moves it by up to 4e-5, so that is the scale here.
 */
function check(d: { global: number; local: number; cosine: number }): void {
  assert.ok(d.local < 1e-6, `local descriptors differ by ${d.local}`);
  assert.ok(d.global < 1e-4, `global descriptors differ by ${d.global}`);
  assert.ok(d.cosine > 1 - 1e-9, `global descriptors' cosine ${d.cosine}`);
}

Deno.test("the rebuilt default-model graph gives the embeddings of the graph before it (simulator frames)", async () => {
  const sim = createSimulator({ seed: 21, width: W, height: H });
  const path = sim.path({ index: 0 });
  const images = [0, 0.3, 0.6, 0.9].map((f) =>
    convertChannels(sim.render(path[Math.floor(f * path.length)]), 1)
  );
  const d = await compare(images);
  check(d);
});

Deno.test({
  name: "the rebuilt default-model graph gives the embeddings of the graph before it (shared rtabmap images)",
  ...needsShared(),
  fn: async () => {
    const images: PixelImage[] = [];
    for (const i of [1, 5, 9, 13, 17, 21]) {
      const bytes = await Deno.readFile(sharedPath(`data/rtabmap_samples_loop/images/${i}.jpg`));
      images.push(await prepareImage(bytes, { width: W, height: H, channels: 1 }));
    }
    const d = await compare(images);
    check(d);
  },
});

Deno.test("the front end's grid step takes every step-th descriptor of the full grid", async () => {
  const sim = createSimulator({ seed: 4, width: 160, height: 120 });
  const img = convertChannels(sim.render(sim.path({ index: 0 })[3]), 1);
  const input = {
    data: toNchw([img], { width: 160, height: 120, channels: 1, mean: [0], std: [1] }),
    dims: [1, 1, 120, 160],
  };
  // Without the noise floor (whose level is a quantile over the grid, so depends on the step).
  const base = {
    cellSize: 4,
    gridStep: 1,
    smoothSigma: 1.6,
    contrastThreshold: 0,
    clip: true,
    noiseFloor: 0,
  };
  const run = async (gridStep: number) => {
    const s = await createSession(buildFrontEndGraph({ ...base, gridStep }), { provider: "cpu" });
    try {
      return (await s.run({ image: input })).local;
    } finally {
      await s.close();
    }
  };
  const full = await run(1);
  for (const step of [2, 3]) {
    const sub = await run(step);
    const [, h, w] = full.dims, [, hs, ws] = sub.dims;
    assert.deepEqual([hs, ws], [Math.floor((h - 1) / step) + 1, Math.floor((w - 1) / step) + 1]);
    for (let y = 0; y < hs; y++) {
      for (let x = 0; x < ws; x++) {
        const a = sub.data.subarray((y * ws + x) * C, (y * ws + x + 1) * C);
        const b = full.data.subarray(((y * step) * w + x * step) * C, ((y * step) * w + x * step + 1) * C);
        assert.ok(maxAbsDiff(a, b) < 1e-6, `step ${step} at (${x}, ${y})`);
      }
    }
  }
});
