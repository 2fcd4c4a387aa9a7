import assert from "node:assert/strict";
import { join } from "node:path";
import { exportSimDataset } from "../../src/io/simulator/export.ts";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { loadModel } from "../../src/model/onnx_model.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { readRetrievalDataset } from "../../src/dataset/retrieval_dataset.ts";
import { train, trainBackboneHead } from "../../src/train/train_model.ts";
import { onnxFeatureExtractor } from "../../src/train/features.ts";
import { headForward } from "../../src/train/netvlad_grad.ts";
import { loadCheckpoint } from "../../src/train/checkpoint.ts";

/** A tiny simulated route (two traversals, changed lighting), shared by the tests of this file. */
async function tinyRoute(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_train_ds_" });
  await exportSimDataset(dir, {
    frames: 40,
    traversals: 2,
    width: 96,
    height: 72,
    condition: "lighting",
    overwrite: true,
  });
  return dir;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("train() writes a loadable default-family model whose descriptors are the trained head's", async () => {
  // keep: "last" so that the written model is the trained head whatever the (tiny) validation split says;
  // the default ("best") may rightly keep the initial head when no epoch beats it on validation
  const ds = await tinyRoute();
  const out = await Deno.makeTempDir({ prefix: "waymark_train_out_" });
  try {
    const r = await train(ds, out, {
      clusters: 8,
      inputWidth: 96,
      epochs: 2,
      posRadius: 2.5,
      negRadius: 6,
      patience: 0,
      optimizer: { lr: 1e-3 },
      maxPositions: 100000, // the full grid, so the TS head and the ONNX graph see the same positions
      keep: "last",
    });
    assert.equal(r.history.length, 2);
    assert.ok(r.tuples > 0);
    const model = await loadModel(out, { provider: "cpu" });
    const initial = await loadModel(join(out, "initial"), { provider: "cpu" });
    try {
      assert.equal(model.info.descriptorDim, 8 * 128);
      const data = await readRetrievalDataset(ds);
      const img = await decodeImage(await Deno.readFile(data.queries[3].path), { channels: 1 });
      const got = (await model.describe(img)).global;
      const before = (await initial.describe(img)).global;
      assert.ok(maxAbsDiff(got, before) > 1e-4, "training changed the model");
      // recompute with the TS head on the model's own dense output
      const local = (await model.describe(img, { local: true })).local!;
      const { prepareGrid } = await import("../../src/train/features.ts");
      const f = prepareGrid(local.descriptors, "hwc", local.dim, local.gridHeight, local.gridWidth, 1);
      const ckpt = (await loadCheckpoint(join(out, "checkpoint")))!;
      const want = headForward(ckpt.params, f).output;
      assert.ok(maxAbsDiff(got, want) < 1e-4, `ONNX vs TS head: ${maxAbsDiff(got, want)}`);
    } finally {
      await model.close();
      await initial.close();
    }
    const report = JSON.parse(await Deno.readTextFile(join(out, "training.json")));
    assert.equal(report.history.length, 2);
    assert.equal(report.kept, "last");
    assert.ok(report.history.every((h: { separation: number }) => Number.isFinite(h.separation)));
    // the held-out split is written as a dataset that the evaluation commands read
    const val = await readRetrievalDataset(r.validationDir!); // image paths through its link to the training set
    assert.equal(val.queries.length, r.validationQueries);
    assert.equal(val.database.length, 40);
    assert.equal(val.groundTruth, "matches");
  } finally {
    await Deno.remove(ds, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("trainBackboneHead() puts the trained head on a feature-map ONNX backbone as one loadable model", async () => {
  const ds = await tinyRoute();
  const out = await Deno.makeTempDir({ prefix: "waymark_train_byo_" });
  try {
    // a tiny frozen "backbone": 8 fixed 3x3 filters, stride 2, ReLU -> [N, 8, h, w]
    const g = new GraphBuilder("tiny_backbone");
    const x = g.input("pixels", ["N", 3, 48, 64]);
    const w = new Float32Array(8 * 3 * 3 * 3).map((_, i) => Math.sin(i * 1.7));
    const feat = g.relu(g.conv(x, g.constant(w, [8, 3, 3, 3], "bb_w"), null, { strides: [2, 2] }));
    g.output(feat, "features", ["N", 8, "h", "w"]);
    const bb = join(out, "..", `${out.split("/").pop()}_backbone.onnx`);
    await Deno.writeFile(bb, g.toBytes({ opset: 17 }));
    const input = {
      width: 64,
      height: 48,
      channels: 3 as const,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
    };
    const r = await trainBackboneHead(ds, bb, out, {
      input,
      clusters: 4,
      pcaDim: 6,
      epochs: 1,
      posRadius: 2.5,
      negRadius: 6,
      maxPositions: 100000,
    });
    assert.equal(r.history.length, 1);
    const model = await loadModel(out, { provider: "cpu" });
    try {
      assert.equal(model.info.descriptorDim, 6);
      const data = await readRetrievalDataset(ds);
      const img = await decodeImage(await Deno.readFile(data.database[5].path), { channels: 3 });
      const got = (await model.describe(img)).global;
      const fx = await onnxFeatureExtractor(bb, { input, maxPositions: 100000 });
      const [f] = await fx.extract([img]);
      await fx.close();
      const ckpt = (await loadCheckpoint(join(out, "checkpoint")))!;
      const want = headForward(ckpt.best, f).output;
      assert.ok(maxAbsDiff(got, want) < 1e-4, `merged ONNX vs TS head: ${maxAbsDiff(got, want)}`);
    } finally {
      await model.close();
      await Deno.remove(bb);
    }
  } finally {
    await Deno.remove(ds, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
