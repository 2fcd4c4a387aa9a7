import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { BlobStore } from "../../src/map/blob_store.ts";

Deno.test("BlobStore puts and gets blobs by place id across reopening; the last put wins", async () => {
  const dir = await tempDir();
  const s = await BlobStore.open(dir);
  await s.putBlob(3, new Uint8Array([1, 2, 3]));
  await s.putBlob(7, new Uint8Array(1000).fill(7));
  await s.putBlob(3, new Uint8Array([4, 5]));
  assert.deepEqual(await s.getBlob(3), new Uint8Array([4, 5]));
  assert.equal(await s.getBlob(99), undefined);
  await s.close();
  const t = await BlobStore.open(dir);
  assert.deepEqual(t.placeIds(), [3, 7]);
  assert.deepEqual(await t.getBlob(7), new Uint8Array(1000).fill(7));
  assert.deepEqual(await t.getBlob(3), new Uint8Array([4, 5]));
  await t.close();
});

Deno.test("BlobStore ignores a torn index entry on open and detects a corrupt blob", async () => {
  const dir = await tempDir();
  const s = await BlobStore.open(dir);
  await s.putBlob(1, new Uint8Array([10, 11, 12, 13]));
  await s.putBlob(2, new Uint8Array([20, 21]));
  await s.close();
  const idx = await Deno.readFile(`${dir}/local.idx`);
  await Deno.writeFile(`${dir}/local.idx`, idx.subarray(0, 24 + 10)); // second entry torn
  const t = await BlobStore.open(dir);
  assert.deepEqual(t.placeIds(), [1]);
  await t.close();
  const bin = await Deno.readFile(`${dir}/local.bin`);
  bin[0] ^= 1;
  await Deno.writeFile(`${dir}/local.bin`, bin);
  const u = await BlobStore.open(dir);
  await assert.rejects(
    u.getBlob(1),
    (e) => e instanceof MapFormatError && /local\.bin: blob of place 1 is corrupt/.test(e.message),
  );
  await u.close();
});
