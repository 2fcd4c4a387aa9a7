import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
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
