// Issue 14 item 1: a map write never destroys what is at its path unless it is a Waymark map it may replace.
import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { buildMap } from "../../src/map/build_map.ts";
import { compactMap } from "../../src/map/compact.ts";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { loadMap } from "../../src/map/map_loader.ts";
import { inspectMapTarget, writeMap } from "../../src/map/map_writer.ts";
import { decodeFake, fakeImageFolder, FakeModel } from "./_fake.ts";
import { tempDir } from "./_tmp.ts";

const quiet = { onWarning: () => {}, decode: decodeFake, index: "exact" as const };
const model = { name: "fake-grid", id: "fake-model-1", dim: 16, bundled: false };
const content = (n: number) => ({
  model,
  places: Array.from({ length: n }, (_, i) => ({ placeId: i, image: `${i}.jpg`, stamp: i })),
  descriptors: new Float32Array(n * 16).map((_, i) => ((i * 7) % 11) / 11 + 0.01),
  index: { kind: "exact" as const },
});

Deno.test("buildMap into a folder holding the user's files refuses, naming them, and keeps every file", async () => {
  const src = await fakeImageFolder(4);
  const out = await tempDir("waymark_user_");
  await Deno.writeTextFile(`${out}/notes.txt`, "keep");
  await assert.rejects(
    buildMap(src, out, { ...quiet, model: new FakeModel() }),
    (e) => e instanceof ValidationError && /not a Waymark map \(it holds notes\.txt\)/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(`${out}/notes.txt`), "keep");
  // --force (replace) does not change that: only a Waymark map is ever replaced
  await assert.rejects(
    buildMap(src, out, { ...quiet, model: new FakeModel(), replace: true }),
    ValidationError,
  );
  assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["notes.txt"]);
});

Deno.test("buildMap onto a regular file refuses and leaves the file as it was", async () => {
  const src = await fakeImageFolder(4);
  const out = `${await tempDir()}/map`;
  await Deno.writeTextFile(out, "a file");
  for (const replace of [false, true]) {
    await assert.rejects(
      buildMap(src, out, { ...quiet, model: new FakeModel(), replace }),
      (e) => e instanceof ValidationError && /is not a folder/.test(e.message),
    );
  }
  assert.equal(await Deno.readTextFile(out), "a file");
});

Deno.test("buildMap writes into an empty folder the user made", async () => {
  const src = await fakeImageFolder(4);
  const out = await tempDir("waymark_empty_");
  const r = await buildMap(src, out, { ...quiet, model: new FakeModel() });
  assert.equal(r.manifest.counts.places, 4);
  assert.equal((await inspectMapTarget(out)).kind, "map");
});

Deno.test("an existing map is replaced only with replace (--force), by writing beside it and renaming", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(3));
  await assert.rejects(
    writeMap(dir, content(5)),
    (e) =>
      e instanceof ValidationError &&
      /already holds a Waymark map; choose another path, or replace it \(map build --force/.test(e.message),
  );
  // While the new map is staged (complete, manifest written), the old one is still whole at the path.
  const fake = new FakeModel();
  await assert.rejects(
    writeMap(dir, content(5), {
      replace: true,
      onStep: async (s) => {
        if (s !== "staged-manifest") return;
        assert.equal((await loadMap(dir, { model: fake })).places.length, 3);
        throw new Error("abort before the swap");
      },
    }),
    /abort before the swap/,
  );
  assert.equal(
    (await loadMap(dir, { model: fake })).places.length,
    3,
    "an aborted replace keeps the old map",
  );
  await writeMap(dir, content(5), { replace: true });
  assert.equal((await loadMap(dir, { model: fake })).places.length, 5);
});

Deno.test("a map folder with a user's file in it is not replaced, even by compaction; nothing is lost", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(3));
  const j = await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16 });
  await j.append({ placeId: 3, stamp: 3, meta: {}, descriptor: new Float32Array(16).fill(0.25) });
  await j.close();
  await Deno.writeTextFile(`${dir}/my-notes.md`, "mine");
  await assert.rejects(writeMap(dir, content(4), { replace: true }), /it holds my-notes\.md/);
  await assert.rejects(compactMap(dir), /it holds my-notes\.md/);
  assert.equal(await Deno.readTextFile(`${dir}/my-notes.md`), "mine");
  assert.equal(
    await KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16 }).then(async (k) => {
      await k.close();
      return k.replayed.length;
    }),
    1,
    "the journal is intact",
  );
  await Deno.remove(`${dir}/my-notes.md`);
  assert.equal((await compactMap(dir)).folded, 1);
});

Deno.test("without a manifest only a SLAM journal counts as a map: a folder holding just model/ is the user's", async () => {
  const dir = await tempDir("waymark_user_");
  await Deno.mkdir(`${dir}/model`);
  await Deno.writeTextFile(`${dir}/model/weights.bin`, "mine");
  assert.deepEqual(await inspectMapTarget(dir), { kind: "foreign", foreign: ["model"] });
  await assert.rejects(writeMap(dir, content(2), { replace: true }), /it holds model/);
  assert.equal(await Deno.readTextFile(`${dir}/model/weights.bin`), "mine");
  const slam = await tempDir("waymark_slam_");
  await Deno.writeFile(`${slam}/journal.wal`, new Uint8Array(0));
  assert.equal((await inspectMapTarget(slam)).kind, "map-files");
});
