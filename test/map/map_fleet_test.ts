import assert from "node:assert/strict";
import { randomUnitVectors } from "../../src/index/_synthetic.ts";
import { BruteForceIndex } from "../../src/index/brute_force_index.ts";
import { readMapManifest } from "../../src/map/map_loader.ts";
import { fleetMapView, mapFleetRef, openMapFleet, publishMapPlaces } from "../../src/map/map_fleet.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { tempDir } from "./_tmp.ts";

const DIM = 8;

Deno.test("fleetMapView: the map's places then the other robots' from the cache; ids, filter, fallback", async () => {
  const root = await tempDir();
  const db = `${root}/db`;
  const dir = `${root}/map`;
  const vectors = randomUnitVectors(5, DIM, 7);
  const own = vectors.slice(0, 3 * DIM);
  await writeMap(dir, {
    model: { name: "fake", id: "fake-id", dim: DIM, bundled: false },
    places: [0, 1, 2].map((i) => ({
      placeId: i,
      image: `${i}.jpg`,
      stamp: 10 + i,
      position: { x: i, y: 0 },
    })),
    descriptors: own,
    index: { kind: "exact" },
    fleet: mapFleetRef(`pglite:${db}?table=lab`, "map", "build-1"),
  });
  const manifest = await readMapManifest(dir);
  assert.equal(manifest.fleet?.target, `pglite:${db}?table=lab`);
  const data = { manifest, places: [0, 1, 2].map((i) => ({ placeId: i, image: `${i}.jpg`, stamp: 10 + i })) };
  const published = await publishMapPlaces(dir, manifest, data.places, own);
  assert.deepEqual([published.state, published.written, published.queued], ["online", 3, 0]);

  // Another robot adds two places.
  const r2 = await openMapFleet(dir, manifest, { robot: "r2", session: "s2", refreshMs: 0 });
  r2.addPlace(vectors.slice(3 * DIM, 4 * DIM), 20);
  r2.addPlace(vectors.slice(4 * DIM, 5 * DIM), 21);
  await r2.sync();
  assert.equal(r2.stats().written, 2);
  await r2.close();

  const fleet = await openMapFleet(dir, manifest, { refreshMs: 0 });
  try {
    const local = new BruteForceIndex(DIM);
    for (let i = 0; i < 3; i++) local.add(i, own.subarray(i * DIM, (i + 1) * DIM));
    const view = fleetMapView({ ...data, descriptors: own, index: local }, fleet);
    assert.equal(view.missing, 0);
    assert.equal(view.fromFleet, 2);
    assert.deepEqual(view.places.map((p) => p.image), [
      "0.jpg",
      "1.jpg",
      "2.jpg",
      "fleet:r2/0",
      "fleet:r2/1",
    ]);
    assert.deepEqual(view.places.map((p) => p.placeId), [0, 1, 2, 3, 4]);
    assert.equal(view.places[4].stamp, 21);
    assert.deepEqual(Array.from(view.descriptors.subarray(4 * DIM)), Array.from(vectors.subarray(4 * DIM)));
    assert.equal(view.index.size, 5);
    for (let i = 0; i < 5; i++) {
      assert.equal(view.index.search(vectors.subarray(i * DIM, (i + 1) * DIM), 1)[0].id, i);
    }
    const odd = view.index.search(vectors.subarray(0, DIM), 5, { filter: (id) => id % 2 === 1 });
    assert.deepEqual(odd.map((h) => h.id).sort(), [1, 3]);
    assert.throws(() => view.index.add(9, vectors.subarray(0, DIM)), /Cannot add to a fleet map's view/);

    // A robot that never reached the database: its cache lacks the map's places; the view keeps the map's index.
    await Deno.rename(db, `${db}.away`);
    await Deno.writeTextFile(db, "not a database");
    const lost = await openMapFleet(dir, manifest, { robot: "r9", refreshMs: 0 });
    try {
      assert.equal(lost.stats().state, "offline");
      const v = fleetMapView({ ...data, descriptors: own, index: local }, lost);
      assert.equal(v.missing, 3);
      assert.equal(v.index, local);
      assert.equal(v.places.length, 3);
    } finally {
      await lost.close();
    }
  } finally {
    await fleet.close();
  }
});

Deno.test("mapFleetRef: a pglite folder made absolute, a password refused", () => {
  const ref = mapFleetRef("pglite:rel/db?table=lab", "r1", "s");
  assert.match(ref.target, /^pglite:\/.*\/rel\/db\?table=lab$/);
  assert.equal(
    mapFleetRef("postgres://robot@db.example:5433/fleet?table=city", "r1", "s").target,
    "postgres://robot@db.example:5433/fleet?table=city",
  );
  assert.throws(() => mapFleetRef("postgres://robot:secret@db.example/fleet", "r1", "s"), (err: Error) => {
    assert.equal(err.name, "IndexError");
    assert.match(err.message, /carries a password/);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
});
