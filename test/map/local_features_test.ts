import assert from "node:assert/strict";
import { join } from "node:path";
import { MapFormatError } from "../../src/errors.ts";
import type { DatasetImage } from "../../src/dataset/types.ts";
import { buildMap } from "../../src/map/build_map.ts";
import { compactMap } from "../../src/map/compact.ts";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { MAP_FILES } from "../../src/map/format.ts";
import { loadMap, readMapManifest } from "../../src/map/map_loader.ts";
import type { PixelImage } from "../../src/types.ts";
import { FakeModel } from "./_fake.ts";
import { buildSimMap, decodeRaw, encodeRaw } from "./_sim_map.ts";
import { tempDir } from "./_tmp.ts";

Deno.test("buildMap() stores every place's local features (PCA 40-d, int8), checksummed and in the manifest", async () => {
  const { out, model, r } = await buildSimMap();
  const m = await readMapManifest(out);
  const lf = m.localFeatures!;
  assert.ok(lf, "manifest.localFeatures");
  assert.equal(lf.places, 12);
  assert.equal(lf.dim, 40);
  assert.equal(lf.inputDim, 128);
  assert.deepEqual(lf.extraction, {
    extractor: "sift-kp",
    maxSide: 512,
    maxKeypoints: 1000,
    scales: [1, 0.7071, 0.5, 0.3536],
    attentionThreshold: 1e-5,
    nmsIoU: 0.5,
  });
  for (const f of [MAP_FILES.featuresPca, MAP_FILES.featuresData, MAP_FILES.featuresIndex]) {
    const entry = m.files.find((e) => e.path === f);
    assert.ok(entry && /^[0-9a-f]{64}$/.test(entry.sha256), `${f} is checksummed in the manifest`);
    assert.equal(entry!.size, (await Deno.stat(join(out, f))).size);
  }
  // int8 at 40-d: 20 bytes of geometry + 40 bytes of descriptor per keypoint, plus a 20-byte header per place.
  assert.ok(lf.keypoints > 12 * 50, `keypoints ${lf.keypoints}`);
  assert.equal(lf.bytes, 12 * 20 + lf.keypoints * 60);
  assert.equal((await Deno.stat(join(out, MAP_FILES.featuresData))).size, lf.bytes);
  assert.ok(r.localFeatures?.stored);
  assert.equal(r.localFeatures!.bytesPerPlace, Math.round(lf.bytes / 12));
  assert.ok(r.localFeatures!.seconds > 0 && r.localFeatures!.seconds <= r.seconds);
  assert.deepEqual(m.build?.localFeatures, r.localFeatures);

  // Lazy: loading reads no blob; a place's blob is read once, when asked for, then cached.
  const map = await loadMap(out, { model });
  const feats = map.localFeatures!;
  assert.equal(feats.reads, 0);
  const f3 = (await feats.get(3))!;
  assert.equal(feats.reads, 1);
  assert.equal(f3.dim, 40);
  assert.equal(f3.imageWidth, 320);
  for (let i = 0; i < Math.min(f3.count, 20); i++) {
    let n = 0;
    for (let k = 0; k < 40; k++) n += f3.descriptors[i * 40 + k] ** 2;
    assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-4, "unit rows");
  }
  assert.equal(await feats.get(3), f3);
  assert.equal(feats.reads, 1);
  assert.equal(await feats.get(12), undefined, "a place beyond the stored ones has none");
  const pca = await feats.pca();
  assert.equal(pca.inputDim, 128);
  assert.equal(pca.outputDim, 40);
});

Deno.test("a corrupt local-features blob is a MapFormatError naming features/local.bin", async () => {
  const { out, model } = await buildSimMap();
  const path = join(out, MAP_FILES.featuresData);
  const bytes = await Deno.readFile(path);
  const m = await readMapManifest(out);
  // Corrupt a byte inside place 5's blob (past the first places).
  const at = Math.floor((m.localFeatures!.bytes * 5.5) / 12);
  bytes[at] ^= 0x5a;
  await Deno.writeFile(path, bytes);
  // With checksums (the default), loading names the file.
  await assert.rejects(() => loadMap(out, { model }), (err: Error) => {
    assert.ok(err instanceof MapFormatError);
    assert.match(err.message, /features\/local\.bin: checksum mismatch/);
    return true;
  });
  // Without checksums the map loads; reading the corrupt place fails on its CRC, naming the file and place.
  const map = await loadMap(out, { model, verifyChecksums: false });
  const bad: number[] = [];
  for (let id = 0; id < 12; id++) {
    try {
      await map.localFeatures!.get(id);
    } catch (err) {
      assert.ok(err instanceof MapFormatError);
      assert.match((err as Error).message, new RegExp(`features/local\\.bin: features of place ${id} fail`));
      assert.match((err as Error).message, /rebuild the map/);
      bad.push(id);
    }
  }
  assert.equal(bad.length, 1, `exactly one corrupt place (${bad})`);
  // A damaged index file (same size: only checksums would see it) is named on first use.
  const idx = join(out, MAP_FILES.featuresIndex);
  await Deno.writeFile(idx, new Uint8Array((await Deno.stat(idx)).size));
  const map2 = await loadMap(out, { model, verifyChecksums: false });
  await assert.rejects(() => map2.localFeatures!.get(0), /features\/local\.idx: bad magic/);
});

Deno.test("a map without stored features (localFeatures: false, or an older map) still loads", async () => {
  const { out, model, r } = await buildSimMap({ localFeatures: false });
  assert.equal(r.localFeatures, undefined);
  const m = await readMapManifest(out);
  assert.equal(m.localFeatures, undefined);
  assert.ok(!m.files.some((f) => f.path.startsWith("features/")));
  const map = await loadMap(out, { model });
  assert.equal(map.localFeatures, undefined);
  assert.equal(map.places.length, 12);
  // A manifest with a malformed section is refused, naming manifest.json.
  const path = join(out, MAP_FILES.manifest);
  const json = JSON.parse(await Deno.readTextFile(path));
  json.localFeatures = { version: 9 };
  await Deno.writeTextFile(path, JSON.stringify(json));
  await assert.rejects(() => loadMap(out, { model }), /manifest\.json: malformed localFeatures section/);
});

Deno.test("blank images: no features stored, and the build says why", async () => {
  const dir = await tempDir("waymark_lf_blank_");
  const images: DatasetImage[] = [];
  for (let k = 0; k < 3; k++) {
    const blank: PixelImage = {
      width: 64,
      height: 48,
      channels: 3,
      data: new Uint8Array(64 * 48 * 3).fill(90 + k),
    };
    await Deno.writeFile(join(dir, `${k}.raw`), encodeRaw(blank));
    images.push({ index: k, image: `${k}.raw`, path: join(dir, `${k}.raw`), stamp: k });
  }
  const r = await buildMap(images, `${dir}_map`, {
    model: new FakeModel(),
    index: "exact",
    decode: decodeRaw,
    onWarning: () => {},
  });
  assert.equal(r.localFeatures?.stored, false);
  assert.match(r.localFeatures!.reason!, /no place has any local-feature keypoint/);
  assert.equal(r.manifest.localFeatures, undefined);
  assert.ok(!(await Deno.stat(`${dir}_map/features`).then(() => true, () => false)));
});

Deno.test("compactMap() carries the stored features over; journaled keyframes have none", async () => {
  const { out, model } = await buildSimMap();
  const j = await KeyframeJournal.open(join(out, MAP_FILES.journal), { dim: 16, modelId: model.info.id });
  const d = new Float32Array(16).fill(0.25);
  await j.append({ placeId: 12, stamp: 12, meta: { image: "kf12" }, descriptor: d });
  await j.close();
  const before = (await readMapManifest(out)).localFeatures;
  const { manifest, folded } = await compactMap(out);
  assert.equal(folded, 1);
  assert.deepEqual(manifest.localFeatures, before);
  assert.ok(manifest.files.some((f) => f.path === MAP_FILES.featuresData));
  const map = await loadMap(out, { model });
  assert.equal(map.places.length, 13);
  assert.equal((await map.localFeatures!.get(3))!.dim, 40);
  assert.equal(await map.localFeatures!.get(12), undefined);
});
