import assert from "node:assert/strict";
import { deriveLoopDataset, deriveRetrievalDataset } from "../../src/eval/derive.ts";
import { readRetrievalDataset } from "../../src/dataset/retrieval_dataset.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { tempDir } from "../map/_tmp.ts";
import { pngRetrievalDataset } from "./_png_dataset.ts";

Deno.test("derive: a retrieval dataset with degraded queries and downscaled map is a valid dataset", async () => {
  const src = await pngRetrievalDataset(4);
  const out = await tempDir("waymark_derive_");
  try {
    const orig = await readRetrievalDataset(src);
    const ds = await deriveRetrievalDataset(src, `${out}/d`, { map: "down:8x6", queries: "night+down:8x6" });
    assert.equal(ds.database.length, orig.database.length);
    assert.equal(ds.queries.length, orig.queries.length);
    assert.deepEqual(ds.truth, orig.truth);
    assert.equal(ds.groundTruth, "matches");
    for (const img of [...ds.database, ...ds.queries]) {
      const px = await decodeImage(await Deno.readFile(img.path));
      assert.deepEqual([px.width, px.height], [8, 6], img.image);
    }
    const qOrig = await decodeImage(await Deno.readFile(orig.queries[0].path));
    const q = await decodeImage(await Deno.readFile(ds.queries[0].path));
    const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(mean(q.data) < mean(qOrig.data) * 0.6, "night-like queries are darker");
    // Same spec, same seed: same bytes.
    const again = await deriveRetrievalDataset(src, `${out}/e`, {
      map: "down:8x6",
      queries: "night+down:8x6",
    });
    assert.deepEqual(await Deno.readFile(again.queries[1].path), await Deno.readFile(ds.queries[1].path));
    // A side without a degradation is copied byte for byte.
    const plain = await deriveRetrievalDataset(src, `${out}/p`, { queries: "jpeg:30" });
    assert.deepEqual(await Deno.readFile(plain.database[0].path), await Deno.readFile(orig.database[0].path));
    await assert.rejects(() => deriveRetrievalDataset(src, `${out}/p`, {}), /empty or new folder/);
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("derive: a loop dataset keeps its frames and loops", async () => {
  const src = await pngRetrievalDataset(3);
  const out = await tempDir("waymark_derive_loop_");
  try {
    const names = ["db_0.png", "db_1.png", "db_2.png", "q_0.png", "q_1.png"];
    await Deno.writeTextFile(`${src}/sequence.csv`, `image\n${names.join("\n")}\n`);
    await Deno.writeTextFile(`${src}/loops.csv`, `query,match\nq_0.png,db_0.png\nq_1.png,db_1.png\n`);
    const ds = await deriveLoopDataset(src, `${out}/l`, { frames: "darker:0.3" });
    assert.equal(ds.frames.length, 5);
    assert.deepEqual(ds.loops, [[], [], [], [0], [1]]);
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("derive: mapEvery keeps every k-th map image and the queries still matched in it", async () => {
  const src = await pngRetrievalDataset(5);
  const out = await tempDir("waymark_derive_every_");
  try {
    const ds = await deriveRetrievalDataset(src, `${out}/s`, { mapEvery: 2 });
    // Places 0, 2, 4 are kept; queries 1 and 3 lose their only true match and are left out.
    assert.equal(ds.database.length, 3);
    assert.equal(ds.queries.length, 3);
    assert.deepEqual(ds.truth, [[0], [1], [2]]);
    const orig = await readRetrievalDataset(src);
    assert.deepEqual(await Deno.readFile(ds.database[1].path), await Deno.readFile(orig.database[2].path));
    assert.deepEqual(await Deno.readFile(ds.queries[2].path), await Deno.readFile(orig.queries[4].path));
    await assert.rejects(() => deriveRetrievalDataset(src, `${out}/z`, { mapEvery: 0 }), /mapEvery/);
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("derive: mapOffset thins the map from another place", async () => {
  const src = await pngRetrievalDataset(5);
  const out = await tempDir("waymark_derive_offset_");
  try {
    const ds = await deriveRetrievalDataset(src, `${out}/s`, { mapEvery: 2, mapOffset: 1 });
    // Places 1 and 3 are kept; queries 0, 2 and 4 lose their only true match and are left out.
    assert.equal(ds.database.length, 2);
    assert.deepEqual(ds.truth, [[0], [1]]);
    const orig = await readRetrievalDataset(src);
    assert.deepEqual(await Deno.readFile(ds.database[0].path), await Deno.readFile(orig.database[1].path));
    assert.deepEqual(await Deno.readFile(ds.queries[1].path), await Deno.readFile(orig.queries[3].path));
    await assert.rejects(
      () => deriveRetrievalDataset(src, `${out}/z`, { mapEvery: 2, mapOffset: 2 }),
      /mapOffset/,
    );
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});
