import assert from "node:assert/strict";
import { readRetrievalDataset } from "../../src/dataset/retrieval_dataset.ts";
import { DatasetError } from "../../src/errors.ts";
import { needsShared, sharedPath } from "../_shared.ts";
import { FAKE, tempDataset } from "./_fixtures.ts";

const imgs = (names: string[]) => Object.fromEntries(names.map((n) => [n, FAKE]));

Deno.test("readRetrievalDataset() takes ground truth from matches.csv, with empty truth for unmatched queries", async () => {
  const dir = await tempDataset({
    ...imgs(["img/d1.jpg", "img/d2.jpg", "img/q1.jpg", "img/q2.jpg"]),
    "database.csv": "image,stamp\nimg/d1.jpg,10\nimg/d2.jpg,11\n",
    "queries.csv": "image\nimg/q1.jpg\nimg/q2.jpg\n",
    "matches.csv": "query,database\nimg/q1.jpg,img/d2.jpg\nimg/q1.jpg,img/d1.jpg\nimg/q1.jpg,img/d2.jpg\n",
  });
  const ds = await readRetrievalDataset(dir);
  assert.equal(ds.groundTruth, "matches");
  assert.deepEqual(ds.truth, [[0, 1], []]);
  assert.deepEqual(ds.database.map((d) => d.stamp), [10, 11]);
  assert.deepEqual(ds.queries.map((d) => d.stamp), [0, 1]);
  assert.equal(ds.queries[1].path, `${await Deno.realPath(dir)}/img/q2.jpg`);
  assert.equal(ds.queries[1].index, 1);
});

Deno.test("readRetrievalDataset() takes ground truth from x,y positions within the radius", async () => {
  const dir = await tempDataset({
    ...imgs(["d1.jpg", "d2.jpg", "q1.jpg"]),
    "database.csv": "image,x,y\nd1.jpg,0,0\nd2.jpg,30,0\n",
    "queries.csv": "image,x,y\nq1.jpg,10,0\n",
  });
  assert.deepEqual((await readRetrievalDataset(dir)).truth, [[0, 1]]);
  assert.deepEqual((await readRetrievalDataset(dir, { radius: 15 })).truth, [[0]]);
});

Deno.test("readRetrievalDataset() projects lat,lon about the first database row for both lists", async () => {
  const dir = await tempDataset({
    ...imgs(["d1.jpg", "d2.jpg", "q1.jpg"]),
    "database.csv": "image,lat,lon\nd1.jpg,46.0,6.0\nd2.jpg,46.001,6.0\n",
    "queries.csv": "image,lat,lon\nq1.jpg,46.00095,6.0\n",
  });
  const ds = await readRetrievalDataset(dir);
  assert.deepEqual(ds.database[0].position, { x: 0, y: 0 });
  assert.ok(Math.abs(ds.database[1].position!.y - 111.195) < 0.01);
  assert.deepEqual(ds.truth, [[1]]);
});

Deno.test("readRetrievalDataset() lists the first missing files with the CSV's name", async () => {
  const dir = await tempDataset({
    "d0.jpg": FAKE,
    "database.csv": "image\nd0.jpg\n" + Array.from({ length: 8 }, (_, i) => `m${i}.jpg`).join("\n"),
    "queries.csv": "image\nd0.jpg\n",
  });
  await assert.rejects(
    readRetrievalDataset(dir),
    (e) =>
      e instanceof DatasetError &&
      /database\.csv: 8 of 9 listed image\(s\) do not exist: m0\.jpg, m1\.jpg, m2\.jpg, m3\.jpg, m4\.jpg and 3 more/
        .test(e.message),
  );
});

Deno.test("readRetrievalDataset() rejects missing folder, missing CSV, empty list, unknown column, no truth", async () => {
  const reject = async (files: Record<string, string | Uint8Array> | null, re: RegExp) => {
    const dir = files === null ? "/nonexistent/waymark" : await tempDataset(files);
    await assert.rejects(readRetrievalDataset(dir), (e) => e instanceof DatasetError && re.test(e.message));
  };
  await reject(null, /\/nonexistent\/waymark: dataset folder not found/);
  await reject({ "database.csv": "image\na.jpg\n", "a.jpg": FAKE }, /queries\.csv: file not found/);
  await reject(
    { "database.csv": "image\n", "queries.csv": "image\na.jpg\n" },
    /database\.csv: no images listed/,
  );
  await reject(
    { "database.csv": "image,heading\na.jpg,3\n", "queries.csv": "image\na.jpg\n", "a.jpg": FAKE },
    /database\.csv:1: unknown column\(s\) 'heading'/,
  );
  await reject(
    { "database.csv": "image\na.jpg\n", "queries.csv": "image\na.jpg\n", "a.jpg": FAKE },
    /no ground truth/,
  );
  await reject(
    { "database.csv": "image,x,y\na.jpg,1,nope\n", "queries.csv": "image\na.jpg\n", "a.jpg": FAKE },
    /database\.csv:2: 'y' must be a finite number/,
  );
  await reject(
    {
      "database.csv": "image\na.jpg\n",
      "queries.csv": "image\na.jpg\n",
      "matches.csv": "query,database\na.jpg,b.jpg\n",
      "a.jpg": FAKE,
    },
    /matches\.csv:2: database image "b\.jpg" is not in database\.csv/,
  );
});

Deno.test({
  name: "readRetrievalDataset() reads the shared rtabmap set: 40 database, 44 queries, all with a match",
  ...needsShared(),
  fn: async () => {
    const ds = await readRetrievalDataset(sharedPath("data/rtabmap_samples_loop"));
    assert.equal(ds.database.length, 40);
    assert.equal(ds.queries.length, 44);
    assert.equal(ds.truth.reduce((s, t) => s + t.length, 0), 208);
    assert.ok(ds.truth.every((t) => t.length > 0));
  },
});
