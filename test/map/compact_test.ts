import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { BlobStore } from "../../src/map/blob_store.ts";
import { compactMap } from "../../src/map/compact.ts";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { loadMap } from "../../src/map/map_loader.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { FakeModel } from "./_fake.ts";
import { HnswIndex } from "../../src/index/hnsw_index.ts";

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

/** A map of `prior` places (hnsw) in `dir` plus a journal of `fresh` more; returns every descriptor. */
async function mapWithJournal(dir: string, prior: number, fresh: number): Promise<Float32Array[]> {
  await Deno.mkdir(dir, { recursive: true });
  const all = Array.from({ length: prior + fresh }, (_, i) => unit(i + 0.37 * (i % 7)));
  let j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16, modelId: model.info.id });
  for (let i = 0; i < prior; i++) await j.append({ placeId: i, stamp: i, meta: {}, descriptor: all[i] });
  await j.close();
  await compactMap(dir, { model: ref });
  j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16, modelId: model.info.id });
  for (let i = prior; i < prior + fresh; i++) {
    await j.append({ placeId: i, stamp: i, meta: {}, descriptor: all[i] });
  }
  await j.close();
  return all;
}

/** Copy of a map folder (to compact the same content twice). */
async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("compactMap() with reuseIndex saves the session index: same top-k as in memory and as a rebuild", async () => {
  const root = await tempDir();
  const all = await mapWithJournal(`${root}/a`, 60, 25);
  await copyDir(`${root}/a`, `${root}/b`);
  // The session index as slam has it: the saved map's own index, then the run's keyframes.
  const session = (await loadMap(`${root}/a`, { model })).index as HnswIndex;
  for (let i = 60; i < 85; i++) session.add(i, all[i]);
  const notices: string[] = [];
  const reused = await compactMap(`${root}/a`, { reuseIndex: session, onNotice: (m) => notices.push(m) });
  assert.deepEqual(notices, []);
  assert.equal(reused.indexReused, true);
  assert.equal(reused.folded, 25);
  assert.equal(reused.manifest.index.params.efConstruction, session.options.efConstruction);
  const rebuilt = await compactMap(`${root}/b`);
  assert.equal(rebuilt.indexReused, false);
  const a = await loadMap(`${root}/a`, { model }), b = await loadMap(`${root}/b`, { model });
  assert.equal(a.index.size, 85);
  assert.deepEqual(a.descriptors, b.descriptors);
  for (const q of [3, 42, 61, 84, 7.5, 70.25]) {
    const query = unit(q);
    const loaded = a.index.search(query, 5);
    assert.deepEqual(loaded, session.search(query, 5), `query ${q}: saved = in memory`);
    assert.deepEqual(
      loaded.map((h) => h.id),
      b.index.search(query, 5).map((h) => h.id),
      `query ${q}: = rebuilt`,
    );
  }
});

Deno.test("compactMap() rebuilds with a notice when reuseIndex misses a place, has a stray id or other vectors", async () => {
  const root = await tempDir();
  const all = await mapWithJournal(`${root}/base`, 30, 10);
  const cases: [string, (ix: HnswIndex) => void, RegExp][] = [
    ["missing", (ix) => {
      for (let i = 0; i < 39; i++) ix.add(i, all[i]);
    }, /holds 39 places, the map 40/],
    ["stray", (ix) => {
      for (let i = 0; i < 39; i++) ix.add(i, all[i]);
      ix.add(40, all[39]);
    }, /place id 40, not one of 0..39/],
    ["vectors", (ix) => {
      for (let i = 0; i < 40; i++) ix.add(i, unit(1000 + i));
    }, /descriptor does not find itself/],
    ["m", (ix) => {
      for (let i = 0; i < 40; i++) ix.add(i, all[i]);
    }, /its m is 16, 8 was asked for/],
  ];
  for (const [name, fill, why] of cases) {
    const dir = `${root}/${name}`;
    await copyDir(`${root}/base`, dir);
    const ix = new HnswIndex(16, { maxElements: 64 });
    fill(ix);
    const notices: string[] = [];
    const r = await compactMap(dir, {
      reuseIndex: ix,
      onNotice: (m) => notices.push(m),
      ...(name === "m" ? { hnsw: { m: 8 } } : {}),
    });
    assert.equal(r.indexReused, false, name);
    assert.equal(notices.length, 1, name);
    assert.match(notices[0], /rebuilding the index of 40 places: not reusing the given one/);
    assert.match(notices[0], why);
    const map = await loadMap(dir, { model });
    assert.equal(map.index.size, 40);
    for (const i of [0, 17, 39]) assert.equal(map.index.search(all[i], 1)[0].id, i, `${name}: place ${i}`);
  }
  // An exact map never takes an HNSW index.
  const dir = `${root}/exact`;
  await copyDir(`${root}/base`, dir);
  const ix = new HnswIndex(16);
  for (let i = 0; i < 40; i++) ix.add(i, all[i]);
  const notices: string[] = [];
  const r = await compactMap(dir, { index: "exact", reuseIndex: ix, onNotice: (m) => notices.push(m) });
  assert.equal(r.indexReused, false);
  assert.match(notices[0], /the map's index is exact, not hnsw/);
});
