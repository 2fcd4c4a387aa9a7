import assert from "node:assert/strict";
import { naturalCompare, readImageFolder, readImageSource } from "../../src/dataset/image_folder.ts";
import { DatasetError } from "../../src/errors.ts";
import { FAKE, tempDataset } from "./_fixtures.ts";

Deno.test("readImageFolder() lists images naturally sorted with evenly spaced stamps, ignoring other files", async () => {
  const dir = await tempDataset({
    "10.jpg": FAKE,
    "2.PNG": FAKE,
    "1.jpeg": FAKE,
    "notes.txt": "x",
    "sub/3.jpg": FAKE,
  });
  const im = await readImageFolder(dir);
  assert.deepEqual(im.map((i) => i.image), ["1.jpeg", "2.PNG", "10.jpg"]);
  assert.deepEqual(im.map((i) => [i.index, i.stamp]), [[0, 0], [1, 1], [2, 2]]);
});

Deno.test("readImageFolder() rejects a folder with no images as an empty dataset", async () => {
  const dir = await tempDataset({ "readme.txt": "x" });
  await assert.rejects(
    readImageFolder(dir),
    (e) => e instanceof DatasetError && /the dataset is empty/.test(e.message),
  );
});

Deno.test("naturalCompare() orders digit runs by value", () => {
  assert.deepEqual(["img10", "img9", "img1", "img100"].sort(naturalCompare), [
    "img1",
    "img9",
    "img10",
    "img100",
  ]);
});

Deno.test("readImageSource() prefers database.csv, then sequence.csv, then the folder", async () => {
  const dir = await tempDataset({ "a.jpg": FAKE, "b.jpg": FAKE, "sequence.csv": "image\nb.jpg\n" });
  const s = await readImageSource(dir);
  assert.equal(s.kind, "sequence");
  assert.deepEqual(s.images.map((i) => i.image), ["b.jpg"]);
  await Deno.remove(`${dir}/sequence.csv`);
  assert.equal((await readImageSource(dir)).kind, "folder");
});
