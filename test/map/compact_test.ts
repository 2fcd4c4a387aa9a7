import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { BlobStore } from "../../src/map/blob_store.ts";
import { compactMap } from "../../src/map/compact.ts";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { loadMap } from "../../src/map/map_loader.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { FakeModel } from "./_fake.ts";

const model = new FakeModel();
const ref = { name: model.info.name, id: model.info.id, dim: 16, bundled: false };
const unit = (seed: number) => {
  const v = new Float32Array(16).map((_, k) => Math.sin(seed * 3.1 + k * 1.7));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

Deno.test("compactMap() creates a map from a journal alone, then extends it in a later session", async () => {
  const dir = `${await tempDir()}/slam`;
  await Deno.mkdir(dir);
  let j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16, modelId: model.info.id });
  for (let i = 0; i < 4; i++) {
    await j.append({
      placeId: i,
      stamp: i,
      meta: { image: `f${i}`, position: { x: i, y: 0 } },
      descriptor: unit(i),
      local: new Uint8Array([i]),
    });
  }
  await j.close();
  await assert.rejects(compactMap(dir), /no map yet: pass the model/);
  const first = await compactMap(dir, { model: ref, index: "exact" });
  assert.equal(first.folded, 4);
  assert.equal(first.manifest.generation, 1);
  let map = await loadMap(dir, { model });
  assert.equal(map.places[2].image, "f2");
  assert.deepEqual(map.places[3].position, { x: 3, y: 0 });
  assert.equal(map.index.search(unit(2), 1)[0].id, 2);

  // a later session: the journal starts empty in the new version and continues the place ids
  j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16, modelId: model.info.id });
  assert.equal(j.replayed.length, 0);
  await j.append({ placeId: 4, stamp: 4, meta: {}, descriptor: unit(4), local: new Uint8Array([4, 4]) });
  await j.close();
  const second = await compactMap(dir);
  assert.equal(second.folded, 1);
  assert.equal(second.manifest.generation, 2);
  map = await loadMap(dir, { model });
  assert.equal(map.places.length, 5);
  assert.equal(map.places[4].image, "keyframe:4");
  const store = await BlobStore.open(dir);
  assert.deepEqual(store.placeIds(), [0, 1, 2, 3, 4]);
  assert.deepEqual(await store.getBlob(4), new Uint8Array([4, 4]));
  await store.close();
});

Deno.test("compactMap() interrupted before commit keeps the old map and its journal intact", async () => {
  const dir = `${await tempDir()}/m`;
  await writeMap(dir, {
    model: ref,
    places: [{ placeId: 0, image: "a", stamp: 0 }],
    descriptors: unit(0),
    index: { kind: "exact" },
  });
  const j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16 });
  await j.append({ placeId: 1, stamp: 1, meta: {}, descriptor: unit(1) });
  await j.close();
  await assert.rejects(
    compactMap(dir, {
      write: {
        onStep: (s) => {
          if (s === "moved-old") throw new Error("power cut");
        },
      },
    }),
    /power cut/,
  );
  assert.equal((await loadMap(dir, { model })).places.length, 1);
  const again = await compactMap(dir);
  assert.equal(again.folded, 1);
  assert.equal((await loadMap(dir, { model })).places.length, 2);
});

Deno.test("compactMap() rejects journal place ids that do not continue the map's", async () => {
  const dir = `${await tempDir()}/m`;
  await writeMap(dir, {
    model: ref,
    places: [{ placeId: 0, image: "a", stamp: 0 }],
    descriptors: unit(0),
    index: { kind: "exact" },
  });
  const j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16 });
  await j.append({ placeId: 5, stamp: 1, meta: {}, descriptor: unit(1) });
  await j.close();
  await assert.rejects(
    compactMap(dir),
    (e) => e instanceof MapFormatError && /placeId 5, expected 1/.test(e.message),
  );
});
