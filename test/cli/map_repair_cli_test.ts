// Issue 14 item 3 at the command line: a damaged journal stops slam (file untouched), map info reports it,
// waymark map repair salvages every valid record and says what it did.
import assert from "node:assert/strict";
import { encodeRecord, KeyframeJournal } from "../../src/map/journal.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";

const DIM = 8;
const rec = (i: number) => ({
  placeId: i,
  stamp: i,
  meta: { image: `k${i}` },
  descriptor: new Float32Array(DIM).fill(i + 1),
});

Deno.test("waymark slam, map info and map repair on a journal with a damaged record in the middle", async () => {
  const dir = `${await tempDir()}/map`;
  await Deno.mkdir(dir);
  const path = `${dir}/journal.wal`;
  const j = await KeyframeJournal.open(path, { dim: DIM, modelId: "m" });
  for (let i = 0; i < 10; i++) await j.append(rec(i));
  await j.close();
  const bytes = await Deno.readFile(path);
  const size = encodeRecord(rec(0), DIM).length;
  const start = bytes.length - 10 * size;
  bytes[start + 3 * size + 12] ^= 0x20; // record 4
  await Deno.writeFile(path, bytes);

  const slam = await runCli(["slam", "--source", "sim", "--out", dir]);
  assert.equal(slam.code, 1);
  assert.match(
    slam.stderr,
    /JournalCorruptionError: .*journal\.wal: record 4 \(byte \d+ of \d+\) is damaged and 6 valid record\(s\) follow it.*waymark map repair/,
  );
  assert.deepEqual(await Deno.readFile(path), bytes, "slam left the journal untouched");

  const info = await runCli(["map", "info", dir]);
  assert.equal(info.code, 1, "no manifest yet: map info fails naming it");

  const repair = await runCli(["map", "repair", dir]);
  assert.equal(repair.code, 0, repair.stderr);
  assert.match(repair.stdout, /journal\.wal: kept 9 valid record\(s\)/);
  assert.match(
    repair.stdout,
    new RegExp(
      `moved ${size} damaged byte\\(s\\) \\(${size} B at byte ${
        start + 3 * size
      }\\) to .*journal\\.wal\\.damaged-`,
    ),
  );
  assert.match(repair.stdout, /renumbered 6 record\(s\) so that place ids continue the map's from 0/);
  const k = await KeyframeJournal.open(path, { dim: DIM });
  assert.deepEqual(k.replayed.map((r) => r.meta.image), [
    "k0",
    "k1",
    "k2",
    "k4",
    "k5",
    "k6",
    "k7",
    "k8",
    "k9",
  ]);
  await k.close();
  const again = await runCli(["map", "repair", dir]);
  assert.match(again.stdout, /9 valid record\(s\), no damage: nothing to repair/);
  const missing = await runCli(["map", "repair", `${dir}/none`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /MapFormatError: .*none: map folder not found/);
});

Deno.test("waymark map info reports a damaged journal (exit 1) and a torn tail (exit 0)", async () => {
  const { writeMap } = await import("../../src/map/map_writer.ts");
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, {
    model: { name: "m", id: "m", dim: DIM, bundled: false },
    places: [{ placeId: 0, image: "a.jpg", stamp: 0 }],
    descriptors: new Float32Array(DIM).fill(0.5),
    index: { kind: "exact" },
  });
  const path = `${dir}/journal.wal`;
  const j = await KeyframeJournal.open(path, { dim: DIM, modelId: "m" });
  for (let i = 1; i < 5; i++) await j.append(rec(i));
  await j.close();
  const good = await Deno.readFile(path);
  const torn = await runCli(["map", "info", dir]);
  assert.equal(torn.code, 0, torn.stdout);
  await Deno.writeFile(path, good.subarray(0, good.length - 5));
  const t = await runCli(["map", "info", dir]);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /3 keyframes not yet compacted, \d+ B torn tail \(an incomplete last record/);
  const bad = good.slice();
  bad[bad.length - 2 * encodeRecord(rec(0), DIM).length + 20] ^= 1;
  await Deno.writeFile(path, bad);
  const d = await runCli(["map", "info", dir]);
  assert.equal(d.code, 1);
  assert.match(d.stdout, /DAMAGED: \d+ B in 1 stretch\(es\): run 'waymark map repair /);
});
