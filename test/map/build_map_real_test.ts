import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { buildMap } from "../../src/map/build_map.ts";
import { loadMap, readMapManifest } from "../../src/map/map_loader.ts";
import { needsShared, sharedPath } from "../_shared.ts";
import { FakeModel } from "./_fake.ts";

Deno.test({
  name: "buildMap() with the real decoder skips truncated, corrupt and unknown-format files and counts them",
  ...needsShared(),
  fn: async () => {
    const dir = await tempDir();
    const jpg = await Deno.readFile(sharedPath("data/rtabmap_samples_loop/images/1.jpg"));
    await Deno.writeFile(`${dir}/1.jpg`, jpg);
    await Deno.copyFile(sharedPath("data/rtabmap_samples_loop/images/2.jpg"), `${dir}/2.jpg`);
    await Deno.writeFile(`${dir}/3.jpg`, jpg.subarray(0, 600)); // truncated
    await Deno.writeTextFile(`${dir}/4.png`, "this is not a PNG");
    await Deno.writeFile(`${dir}/5.bmp`, new Uint8Array([0x42, 0x4d, 0, 0, 0, 0])); // a format we do not decode
    const warnings: string[] = [];
    const r = await buildMap(dir, `${dir}.map`, {
      model: new FakeModel(),
      index: "exact",
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(r.places.map((p) => p.image), ["1.jpg", "2.jpg"]);
    assert.deepEqual(r.skipped.map((s) => s.image), ["3.jpg", "4.png", "5.bmp"]);
    for (const s of r.skipped) assert.ok(s.reason.includes(s.image), `reason names the file: ${s.reason}`);
    assert.equal(warnings.length, 3);
    assert.equal((await readMapManifest(`${dir}.map`)).counts.skipped, 3);
  },
});

Deno.test({
  name: "buildMap() fits the default model, bundles it, and loadMap() reloads it with the same id",
  ...needsShared(),
  fn: async () => {
    const out = `${await tempDir()}/map`;
    const r = await buildMap(sharedPath("data/rtabmap_samples_loop"), out, {
      provider: "cpu",
      onWarning: () => {},
    });
    assert.equal(r.places.length, 40);
    assert.equal(r.manifest.model.bundled, true);
    assert.ok(r.manifest.files.some((f) => f.path === "model/manifest.json"));
    const map = await loadMap(out, { provider: "cpu" });
    try {
      assert.equal(map.model.info.id, r.manifest.model.id);
      assert.equal(map.index.size, 40);
      const d = map.descriptors.subarray(5 * map.manifest.counts.dim, 6 * map.manifest.counts.dim);
      assert.equal(map.index.search(d, 1)[0].id, 5);
    } finally {
      await map.model.close();
    }
  },
});

Deno.test({
  name:
    "buildMap() with the pca256 preset learns PCA whitening on the map, at most (images - 1)-d: places that find themselves",
  ...needsShared(),
  fn: async () => {
    const out = `${await tempDir()}/map`;
    const r = await buildMap(sharedPath("data/rtabmap_samples_loop"), out, {
      provider: "cpu",
      preset: "dsift-netvlad-64-pca256",
      onWarning: () => {},
    });
    // 40 map images: the whitening is bounded by the images (crops are not independent samples).
    const dim = r.manifest.counts.places - 1;
    assert.equal(r.manifest.counts.dim, dim);
    const model = JSON.parse(await Deno.readTextFile(`${out}/model/manifest.json`));
    assert.equal(model.provenance.pcaDim, dim);
    assert.equal(model.outputs.local.dim, 128, "the dense local output is still there");
    const map = await loadMap(out, { provider: "cpu" });
    try {
      const d = map.descriptors.subarray(7 * dim, 8 * dim);
      assert.equal(map.index.search(d, 1)[0].id, 7);
    } finally {
      await map.model.close();
    }
  },
});

Deno.test({
  name:
    "buildMap() with modelDir records the external model; loadMap() reloads it from there and checks its id",
  ...needsShared(),
  fn: async () => {
    const root = await tempDir();
    const src = sharedPath("data/rtabmap_samples_loop/images");
    await Deno.mkdir(`${root}/imgs`);
    for (const n of [1, 9, 17, 25, 33, 41]) await Deno.copyFile(`${src}/${n}.jpg`, `${root}/imgs/${n}.jpg`);
    const a = await buildMap(`${root}/imgs`, `${root}/a`, { provider: "cpu", index: "exact", clusters: 8 });
    const b = await buildMap(`${root}/imgs`, `${root}/b`, { provider: "cpu", modelDir: `${root}/a/model` });
    assert.equal(b.manifest.model.id, a.manifest.model.id);
    assert.equal(b.manifest.model.bundled, false);
    assert.equal(b.manifest.model.source, `${root}/a/model`);
    assert.ok(!b.manifest.files.some((f) => f.path.startsWith("model/")));
    const map = await loadMap(`${root}/b`, { provider: "cpu" });
    assert.equal(map.model.info.id, a.manifest.model.id);
    await map.model.close();
    // the map refuses a different model (a model fitted with other clusters)
    const c = await buildMap(`${root}/imgs`, `${root}/c`, { provider: "cpu", index: "exact", clusters: 4 });
    await assert.rejects(
      loadMap(`${root}/b`, { provider: "cpu", modelDir: `${root}/c/model` }),
      (e) =>
        e instanceof MapFormatError && e.message.includes(a.manifest.model.id) &&
        e.message.includes(c.manifest.model.id),
    );
  },
});
