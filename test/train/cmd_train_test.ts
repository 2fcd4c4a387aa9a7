import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";

Deno.test("waymark train --help documents the options and exits 0", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(await main(["train", "--help"]), 0);
  } finally {
    console.log = log;
  }
  const help = lines.join("\n");
  for (
    const opt of [
      "--out",
      "--epochs",
      "--lr",
      "--margin",
      "--pos-radius",
      "--neg-radius",
      "--resume",
      "--seed",
      "--backbone",
    ]
  ) {
    assert.ok(help.includes(opt), `help mentions ${opt}`);
  }
});

Deno.test("waymark train exits 2 with a clear message on missing --out or a bad option value", async () => {
  const errors: string[] = [];
  const err = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    assert.equal(await main(["train", "some-dataset"]), 2);
    assert.equal(await main(["train", "some-dataset", "--out", "x", "--epochs", "two"]), 2);
    assert.equal(await main(["train", "some-dataset", "--out", "x", "--optimizer", "rmsprop"]), 2);
    assert.equal(await main(["train", "some-dataset", "--out", "x", "--keep", "first"]), 2);
  } finally {
    console.error = err;
  }
  assert.ok(errors.some((e) => /--out/.test(e)));
  assert.ok(errors.some((e) => /'epochs' must be an integer/.test(e)));
  assert.ok(errors.some((e) => /'optimizer' must be adam or sgd/.test(e)));
  assert.ok(errors.some((e) => /'keep' must be best or last/.test(e)));
});

/** Run the CLI in-process, collecting what it prints. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log, error = console.error, warn = console.warn;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  console.warn = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    console.warn = warn;
  }
}

function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

Deno.test("waymark train writes a model every --model command accepts, and --resume continues the run", async () => {
  const { exportSimDataset } = await import("../../src/io/simulator/export.ts");
  const { join } = await import("node:path");
  const root = await Deno.makeTempDir({ prefix: "waymark_cmd_train_" });
  const ds = join(root, "route");
  const model = join(root, "model");
  try {
    await exportSimDataset(ds, {
      frames: 40,
      traversals: 2,
      width: 96,
      height: 72,
      condition: "lighting",
      overwrite: true,
    });
    const common = ["--clusters", "8", "--pos-radius", "2.5", "--neg-radius", "6", "--patience", "0"];
    const first = await cli(["train", ds, "--out", model, "--epochs", "1", "--keep", "last", ...common]);
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /validation Recall@1 before training: \d\.\d{3}/);
    assert.match(first.err, /epoch 1\/1: loss \d+\.\d{4}\s+validation Recall@1 \d\.\d{3}/);
    // resume with a larger budget: one more epoch on top of the checkpoint
    const second = await cli([
      "train",
      ds,
      "--out",
      model,
      "--epochs",
      "2",
      "--keep",
      "last",
      "--resume",
      ...common,
    ]);
    assert.equal(second.code, 0, second.err);
    assert.match(second.err, /epoch 2\/2/);
    assert.doesNotMatch(second.err, /epoch 1\/2/, "the resumed run does not redo epoch 1");
    const report = JSON.parse(await Deno.readTextFile(join(model, "training.json")));
    assert.equal(report.history.length, 2);

    // every command with --model takes the trained folder
    const info = await cli(["model", "info", model, "--json"]);
    assert.equal(info.code, 0, info.err);
    assert.equal((lastJson(info.out).manifest as { name: string }).name, "waymark-dsift-netvlad-trained");
    const val = join(model, "validation");
    const retrieval = await cli(["eval", "retrieval", val, "--model", model, "--json"]);
    assert.equal(retrieval.code, 0, retrieval.err);
    const r1 = lastJson(retrieval.out)["recall@1"] as number;
    assert.ok(r1 >= 0 && r1 <= 1, `recall@1 ${r1}`);
    const built = await cli(["map", "build", ds, "--out", join(root, "map"), "--model", model]);
    assert.equal(built.code, 0, built.err);
    const stream = await cli(["eval", "stream", val, "--model", model, "--json"]);
    assert.equal(stream.code, 0, stream.err);
    const loops = await cli(["eval", "loops", ds, "--model", model, "--json"]);
    assert.equal(loops.code, 0, loops.err);
    const img = (await Deno.readTextFile(join(ds, "database.csv"))).split("\n")[1].split(",")[0];
    const verify = await cli([
      "verify",
      join(ds, img),
      join(ds, img),
      "--out",
      join(root, "pair.png"),
      "--model",
      model,
      "--json",
    ]);
    assert.equal(verify.code, 0, verify.err);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("waymark train --backbone trains the head on a frozen feature-map ONNX; the result loads with --model", async () => {
  const { exportSimDataset } = await import("../../src/io/simulator/export.ts");
  const { GraphBuilder } = await import("../../src/model/graph_builder.ts");
  const { join } = await import("node:path");
  const root = await Deno.makeTempDir({ prefix: "waymark_cmd_train_byo_" });
  const ds = join(root, "route");
  const model = join(root, "model");
  try {
    await exportSimDataset(ds, { frames: 30, traversals: 2, width: 64, height: 48, overwrite: true });
    // a tiny frozen "backbone": 8 fixed 3x3 filters, stride 2, ReLU -> [N, 8, h, w]
    const g = new GraphBuilder("tiny_backbone");
    const x = g.input("pixels", ["N", 3, 48, 64]);
    const w = new Float32Array(8 * 3 * 3 * 3).map((_, i) => Math.sin(i * 1.7));
    g.output(g.relu(g.conv(x, g.constant(w, [8, 3, 3, 3], "bb_w"), null, { strides: [2, 2] })), "features", [
      "N",
      8,
      "h",
      "w",
    ]);
    const bb = join(root, "backbone.onnx");
    await Deno.writeFile(bb, g.toBytes({ opset: 17 }));
    const args = ["train", ds, "--out", model, "--backbone", bb, "--clusters", "4", "--pca-dim", "6"];
    const common = ["--epochs", "1", "--pos-radius", "2.5", "--neg-radius", "6", "--optimizer", "sgd"];
    // the input contract is required
    const missing = await cli([...args, ...common]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /input-size/);
    const r = await cli([
      ...args,
      ...common,
      "--input-size",
      "64x48",
      "--mean",
      "0.5,0.5,0.5",
      "--std",
      "0.25,0.25,0.25",
    ]);
    assert.equal(r.code, 0, r.err);
    const info = await cli(["model", "info", model, "--json"]);
    assert.equal(info.code, 0, info.err);
    const manifest = lastJson(info.out).manifest as { descriptorDim: number; input: { width: number } };
    assert.equal(manifest.descriptorDim, 6);
    assert.equal(manifest.input.width, 64);
    const retrieval = await cli(["eval", "retrieval", join(model, "validation"), "--model", model, "--json"]);
    assert.equal(retrieval.code, 0, retrieval.err);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
