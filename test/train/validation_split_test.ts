/**
 * `writeValidationSplit`: the CSVs hold paths relative to the split folder (through its `dataset` link to the
 * training set, so that they stay inside the folder as the dataset readers require) and read back to the same
 * images and truth.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeValidationSplit } from "../../src/train/train_model.ts";
import { readRetrievalDataset } from "../../src/dataset/retrieval_dataset.ts";

Deno.test("validation split CSVs use relative paths and read back with the same images and truth", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_split_" });
  try {
    const data = join(dir, "data");
    await Deno.mkdir(join(data, "db"), { recursive: true });
    await Deno.mkdir(join(data, "q"), { recursive: true });
    for (const f of ["db/a.jpg", "db/b.jpg", "q/x.jpg", "q/y.jpg"]) {
      await Deno.writeFile(join(data, f), new Uint8Array([1]));
    }
    await Deno.writeTextFile(join(data, "database.csv"), "image,stamp\ndb/a.jpg,0\ndb/b.jpg,1\n");
    await Deno.writeTextFile(join(data, "queries.csv"), "image,stamp\nq/x.jpg,0\nq/y.jpg,1\n");
    await Deno.writeTextFile(
      join(data, "matches.csv"),
      "query,database\nq/x.jpg,db/b.jpg\nq/y.jpg,db/a.jpg\n",
    );
    const ds = await readRetrievalDataset(data);
    const out = join(dir, "model", "validation");
    await writeValidationSplit(ds, [1], out);
    for (const f of ["database.csv", "queries.csv", "matches.csv"]) {
      const text = await Deno.readTextFile(join(out, f));
      assert.ok(!text.includes(dir), `${f} holds no absolute path:\n${text}`);
      assert.match(text, /^dataset\/(db|q)\//m);
    }
    const back = await readRetrievalDataset(out);
    const real = (list: { path: string }[]) => list.map((im) => Deno.realPathSync(im.path));
    assert.deepEqual(real(back.database), real(ds.database));
    assert.deepEqual(real(back.queries), real([ds.queries[1]]));
    assert.deepEqual(back.truth, [ds.truth[1]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
