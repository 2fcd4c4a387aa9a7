import assert from "node:assert/strict";
import { readLoopDataset } from "../../src/dataset/loop_dataset.ts";
import { DatasetError } from "../../src/errors.ts";
import { needsShared, sharedPath } from "../_shared.ts";
import { FAKE, tempDataset } from "./_fixtures.ts";

Deno.test("readLoopDataset() gives each frame its earlier true matches", async () => {
  const dir = await tempDataset({
    "a.jpg": FAKE,
    "b.jpg": FAKE,
    "c.jpg": FAKE,
    "sequence.csv": "image,stamp\na.jpg,0.5\nb.jpg,1.0\nc.jpg,1.5\n",
    "loops.csv": "query,match\nc.jpg,b.jpg\nc.jpg,a.jpg\n",
  });
  const ds = await readLoopDataset(dir);
  assert.deepEqual(ds.loops, [[], [], [0, 1]]);
  assert.deepEqual(ds.frames.map((f) => f.stamp), [0.5, 1, 1.5]);
});

Deno.test("readLoopDataset() rejects a loop whose query does not come after its match", async () => {
  const dir = await tempDataset({
    "a.jpg": FAKE,
    "b.jpg": FAKE,
    "sequence.csv": "image\na.jpg\nb.jpg\n",
    "loops.csv": "query,match\na.jpg,b.jpg\n",
  });
  await assert.rejects(
    readLoopDataset(dir),
    (e) =>
      e instanceof DatasetError &&
      /loops\.csv:2: query "a\.jpg" must come after match "b\.jpg"/.test(e.message),
  );
});

Deno.test({
  name: "readLoopDataset() reads the shared rtabmap sequence: 84 frames, 44 with loops, 228 pairs",
  ...needsShared(),
  fn: async () => {
    const ds = await readLoopDataset(sharedPath("data/rtabmap_samples_loop"));
    assert.equal(ds.frames.length, 84);
    assert.equal(ds.loops.filter((l) => l.length > 0).length, 44);
    assert.equal(ds.loops.reduce((s, l) => s + l.length, 0), 228);
  },
});
