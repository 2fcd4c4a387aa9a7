import { tempDir } from "./_tmp.ts";
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import {
  encodeRecord,
  JournalCorruptionError,
  type JournalRecord,
  KeyframeJournal,
  replayJournal,
} from "../../src/map/journal.ts";

const DIM = 8;
const rec = (i: number, local?: Uint8Array): JournalRecord => ({
  placeId: i,
  stamp: 10 + i * 0.5,
  meta: { image: `cam/${i}`, position: { x: i, y: -i } },
  descriptor: new Float32Array(DIM).map((_, k) => Math.cos(i + k)),
  local,
});

for (const fsync of ["always", "never", { intervalMs: 5 }] as const) {
  Deno.test(`KeyframeJournal replays every appended record after reopening (fsync ${JSON.stringify(fsync)})`, async () => {
    const path = `${await tempDir()}/journal.wal`;
    const j = await KeyframeJournal.open(path, { dim: DIM, modelId: "m1", fsync });
    await Promise.all(
      [0, 1, 2].map((i) => j.append(rec(i, i === 1 ? new Uint8Array([9, 8, 7]) : undefined))),
    );
    assert.equal(j.count, 3);
    await j.close();
    const k = await KeyframeJournal.open(path, { dim: DIM, modelId: "m1" });
    assert.equal(k.recoveredBytes, 0);
    assert.deepEqual(k.replayed.map((r) => r.placeId), [0, 1, 2]);
    assert.deepEqual(k.replayed[1], rec(1, new Uint8Array([9, 8, 7])));
    assert.equal(k.replayed[2].local, undefined);
    await k.close();
  });
}

Deno.test("a record torn part-way (crash mid-append) is dropped on recovery; every committed record survives", async () => {
  const path = `${await tempDir()}/journal.wal`;
  const j = await KeyframeJournal.open(path, { dim: DIM });
  for (let i = 0; i < 5; i++) await j.append(rec(i));
  await j.close();
  const committed = (await Deno.stat(path)).size;
  const torn = encodeRecord(rec(5), DIM);
  for (const cut of [1, 7, 8, 20, torn.length - 1]) {
    await Deno.truncate(path, committed);
    const f = await Deno.open(path, { append: true });
    await f.write(torn.subarray(0, cut)); // the process dies here
    f.close();
    const k = await KeyframeJournal.open(path, { dim: DIM });
    assert.deepEqual(k.replayed.map((r) => r.placeId), [0, 1, 2, 3, 4], `cut at ${cut}`);
    assert.equal(k.recoveredBytes, cut);
    await k.append(rec(5));
    await k.close();
    assert.deepEqual((await replayJournal(path)).records.map((r) => r.placeId), [0, 1, 2, 3, 4, 5]);
  }
});

Deno.test("a corrupt byte in a complete last record is damage, not a torn write: an error, the file untouched", async () => {
  const path = `${await tempDir()}/journal.wal`;
  const j = await KeyframeJournal.open(path, { dim: DIM });
  for (let i = 0; i < 3; i++) await j.append(rec(i));
  await j.close();
  const bytes = await Deno.readFile(path);
  bytes[bytes.length - 3] ^= 0x55;
  await Deno.writeFile(path, bytes);
  await assert.rejects(
    replayJournal(path),
    (e) =>
      e instanceof JournalCorruptionError &&
      /record 3 .* is damaged and it is complete but fails/.test(e.message),
  );
  await assert.rejects(KeyframeJournal.open(path, { dim: DIM }), JournalCorruptionError);
  assert.deepEqual(await Deno.readFile(path), bytes, "the file is untouched");
});

Deno.test("KeyframeJournal.open() rejects another dim, another model id, a non-journal file and a bad policy", async () => {
  const dir = await tempDir();
  const path = `${dir}/journal.wal`;
  await (await KeyframeJournal.open(path, { dim: DIM, modelId: "m1" })).close();
  await assert.rejects(KeyframeJournal.open(path, { dim: 4 }), /journal descriptors are 8-d, not 4-d/);
  await assert.rejects(
    KeyframeJournal.open(path, { dim: DIM, modelId: "m2" }),
    /model id m1 but the model in use is m2/,
  );
  await Deno.writeTextFile(`${dir}/x.wal`, "hello world, not a journal");
  await assert.rejects(
    KeyframeJournal.open(`${dir}/x.wal`, { dim: DIM }),
    (e) => e instanceof MapFormatError && /x\.wal: not a Waymark keyframe journal/.test(e.message),
  );
  await assert.rejects(KeyframeJournal.open(path, { dim: DIM, fsync: { intervalMs: 0 } }), /'fsync' must be/);
  const j = await KeyframeJournal.open(path, { dim: DIM });
  await assert.rejects(
    j.append({ ...rec(0), descriptor: new Float32Array(3) }),
    /'descriptor.length' must be 8/,
  );
  await j.close();
  await assert.rejects(j.append(rec(1)), /journal is closed/);
});
