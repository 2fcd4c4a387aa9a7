import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { ImageDecodeError, MapFormatError } from "../../src/errors.ts";
import { buildMap } from "../../src/map/build_map.ts";
import { loadMap, readMapManifest } from "../../src/map/map_loader.ts";
import { decodeFake, fakeImageFolder, FakeModel } from "./_fake.ts";
import type { DescriptorOutput, PixelImage } from "../../src/types.ts";

const quiet = { onWarning: () => {}, decode: decodeFake };

for (const kind of ["exact", "hnsw"] as const) {
  Deno.test(`buildMap() writes a ${kind} map that loadMap() reads back and that finds each place itself`, async () => {
    const src = await fakeImageFolder(12);
    const out = `${src}_map`;
    const model = new FakeModel();
    const phases = new Set<string>();
    const r = await buildMap(src, out, {
      ...quiet,
      model,
      index: kind,
      onProgress: (p) => phases.add(p.phase),
    });
    assert.equal(r.manifest.counts.places, 12);
    assert.equal(r.manifest.index.kind, kind);
    assert.deepEqual(r.places.map((p) => p.image).slice(0, 3), ["1.fake.png", "2.fake.png", "3.fake.png"]);
    assert.ok(r.imagesPerSecond > 0);
    assert.deepEqual([...phases], ["describe", "index", "write"]);
    assert.equal(model.closed, false, "a model passed in is the caller's to close");
    const map = await loadMap(out, { model });
    assert.equal(map.places.length, 12);
    assert.equal(map.index.size, 12);
    for (let i = 0; i < 12; i++) {
      const v = map.descriptors.subarray(i * 16, (i + 1) * 16);
      assert.equal(map.index.search(v, 1)[0].id, i);
    }
    const manifest = await readMapManifest(out);
    assert.ok(manifest.files.some((f) => f.path === "descriptors.f32" && f.size === 12 * 16 * 4));
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  });
}

Deno.test("buildMap() skips corrupt, truncated and unknown-format images with a warning and a count", async () => {
  const src = await fakeImageFolder(5, {
    "6.png": new Uint8Array([0x89, 0x50, 0x4e]),
    "7.jpg": new Uint8Array(0),
    "8.png": new Uint8Array([70, 65, 75, 69, 16, 16, 0, 0, 1, 2]),
  });
  const out = `${src}_map`;
  const warnings: string[] = [];
  const r = await buildMap(src, out, {
    model: new FakeModel(),
    index: "exact",
    decode: decodeFake,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(r.places.length, 5);
  assert.deepEqual(r.skipped.map((s) => s.image).sort(), ["6.png", "7.jpg", "8.png"]);
  assert.equal(warnings.length, 3);
  assert.match(warnings.find((w) => w.includes("8.png"))!, /truncated/);
  const m = await readMapManifest(out);
  assert.equal(m.counts.skipped, 3);
  assert.equal(m.build?.skipped?.length, 3);
});

Deno.test("buildMap() with no decodable image fails with ImageDecodeError and writes no map", async () => {
  const dir = await tempDir();
  await Deno.writeFile(`${dir}/a.jpg`, new Uint8Array([1, 2, 3]));
  await assert.rejects(
    buildMap(dir, `${dir}/map`, { ...quiet, model: new FakeModel(), index: "exact" }),
    (e) => e instanceof ImageDecodeError && /none of the 1 image/.test(e.message),
  );
  await assert.rejects(Deno.stat(`${dir}/map`));
});

Deno.test("buildMap() validates options up front", async () => {
  await assert.rejects(
    buildMap("/nowhere", "/tmp/x", { clusters: 0 }),
    /'clusters' must be a positive integer: current value is 0/,
  );
  await assert.rejects(
    buildMap("/nowhere", "/tmp/x", { index: "lsh" as unknown as "hnsw" }),
    /'index' must be one of hnsw, exact/,
  );
  await assert.rejects(
    buildMap("/nowhere", "/tmp/x", { pcaDim: -1 }),
    /'pcaDim' must be a non-negative integer/,
  );
  await assert.rejects(
    buildMap("/nowhere", "/tmp/x", { preset: "nope" }),
    (e) =>
      e instanceof Error && e.name === "UnknownNameError" &&
      /known presets are dsift-netvlad-64/.test(e.message),
  );
});

Deno.test("loadMap() refuses a model other than the map's, naming both ids", async () => {
  const src = await fakeImageFolder(3);
  const out = `${src}_map`;
  await buildMap(src, out, { ...quiet, model: new FakeModel("id-A"), index: "exact" });
  await assert.rejects(
    loadMap(out, { model: new FakeModel("id-B") }),
    (e) =>
      e instanceof MapFormatError &&
      /built with model fake-grid \(id id-A\).*in use is fake-grid \(id id-B\)/.test(e.message),
  );
  await assert.rejects(
    loadMap(out),
    (e) => e instanceof MapFormatError && /does not bundle its model/.test(e.message),
  );
});

Deno.test("buildMap() warns about places whose descriptor is empty (an image too dark or featureless)", async () => {
  const src = await fakeImageFolder(5);
  const out = `${src}_map`;
  // A model whose descriptor of the fifth image is all zero, as the default model's is for a black frame.
  class Blind extends FakeModel {
    calls = 0;
    override async describe(image: PixelImage): Promise<DescriptorOutput> {
      const o = await super.describe(image);
      return this.calls++ === 4 ? { ...o, global: new Float32Array(o.global.length) } : o;
    }
  }
  const warnings: string[] = [];
  const r = await buildMap(src, out, {
    model: new Blind(),
    index: "exact",
    decode: decodeFake,
    batchSize: 1,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(r.places.length, 5);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /^1 of 5 places has an empty descriptor .*5\.fake\.png; they cannot be recognised/,
  );
  await Deno.remove(src, { recursive: true });
  await Deno.remove(out, { recursive: true });
});
