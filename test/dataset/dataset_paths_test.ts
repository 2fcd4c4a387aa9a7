// Issue 14 item 9: dataset CSVs may not name files outside the dataset folder.
import assert from "node:assert/strict";
import { DatasetError } from "../../src/errors.ts";
import { readImageSource } from "../../src/dataset/image_folder.ts";
import { readLoopDataset } from "../../src/dataset/loop_dataset.ts";
import { readRetrievalDataset } from "../../src/dataset/retrieval_dataset.ts";
import { FAKE, tempDataset } from "./_fixtures.ts";

const escape = (file: string, line: number, path: string) => (e: unknown) =>
  e instanceof DatasetError &&
  e.message.includes(`${file}:${line}: image path ${JSON.stringify(path)}`) &&
  /leaves the dataset folder|outside the dataset folder/.test(e.message);

Deno.test("a dataset CSV path that climbs out of the folder (../..) is a DatasetError naming file, line and path", async () => {
  const up = "../../../../etc/passwd";
  const dir = await tempDataset({
    "database.csv": `image\na.jpg\n${up}\n`,
    "queries.csv": "image\na.jpg\n",
    "matches.csv": "query,database\na.jpg,a.jpg\n",
    "a.jpg": FAKE,
  });
  await assert.rejects(readRetrievalDataset(dir, { checkFiles: false }), escape("database.csv", 3, up));
  // the image-source reader used by map build refuses it too, before opening anything
  await assert.rejects(readImageSource(dir), escape("database.csv", 3, up));
  // an explicit permission for absolute paths does not allow climbing out
  await assert.rejects(
    readRetrievalDataset(dir, { checkFiles: false, allowAbsolutePaths: true }),
    escape("database.csv", 3, up),
  );
});

Deno.test("an absolute dataset path outside the folder is refused unless allowed explicitly", async () => {
  const dir = await tempDataset({
    "sequence.csv": "image\na.jpg\n/etc/passwd\n",
    "loops.csv": "query,match\n",
    "a.jpg": FAKE,
  });
  await assert.rejects(readLoopDataset(dir, { checkFiles: false }), escape("sequence.csv", 3, "/etc/passwd"));
  await assert.rejects(readImageSource(dir), escape("sequence.csv", 3, "/etc/passwd"));
  const ok = await readLoopDataset(dir, { checkFiles: false, allowAbsolutePaths: true });
  assert.equal(ok.frames[1].path, "/etc/passwd");
});

Deno.test("paths that stay inside the dataset folder still resolve (sub/../x, absolute inside)", async () => {
  const dir = await tempDataset({
    "sequence.csv": "image\nimg/../a.jpg\n",
    "loops.csv": "query,match\n",
    "a.jpg": FAKE,
  });
  await Deno.writeTextFile(`${dir}/sequence.csv`, `image\nimg/../a.jpg\n${dir}/b.jpg\n`);
  await Deno.writeFile(`${dir}/b.jpg`, FAKE);
  const ds = await readLoopDataset(dir);
  assert.deepEqual(ds.frames.map((f) => f.path), [`${dir}/a.jpg`, `${dir}/b.jpg`]);
});
