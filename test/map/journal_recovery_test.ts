// Issue 14 item 3: a damaged record in the middle of the journal must not silently discard the records after
// it (only an incomplete last record is a torn tail); `repairMap` salvages every valid record.
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import {
  encodeRecord,
  JournalCorruptionError,
  type JournalRecord,
  KeyframeJournal,
  parseJournal,
} from "../../src/map/journal.ts";
import { compactMap } from "../../src/map/compact.ts";
import { readMapData } from "../../src/map/map_loader.ts";
import { repairMap } from "../../src/map/repair.ts";
import { tempDir } from "./_tmp.ts";

const DIM = 4;
const rec = (i: number): JournalRecord => ({
  placeId: i,
  stamp: i,
  meta: { image: `k${i}` },
  descriptor: new Float32Array(DIM).map((_, k) => Math.sin(i * 3 + k)),
  ...(i % 2 ? { local: new Uint8Array([i, i + 1]) } : {}),
});

/** A journal of `n` records on disk; returns its path, bytes and each record's [start, end) offsets. */
async function journalOf(n: number, dir?: string) {
  dir ??= await tempDir();
  const path = `${dir}/journal.wal`;
  const j = await KeyframeJournal.open(path, { dim: DIM, modelId: "m" });
  for (let i = 0; i < n; i++) await j.append(rec(i));
  await j.close();
  const bytes = await Deno.readFile(path);
  const sizes = Array.from({ length: n }, (_, i) => encodeRecord(rec(i), DIM).length);
  const ends: number[] = [];
  let o = bytes.length - sizes.reduce((a, b) => a + b, 0);
  const headerEnd = o;
  for (const s of sizes) ends.push(o += s);
  return { dir, path, bytes, headerEnd, ends };
}

Deno.test("one flipped byte in the middle of the journal stops recovery with an error counting the records after it", async () => {
  const { path, bytes, ends } = await journalOf(67);
  const damaged = bytes.slice();
  damaged[ends[15] + 20] ^= 0x10; // inside record 17 (index 16): 50 committed records follow it
  await Deno.writeFile(path, damaged);
  await assert.rejects(
    KeyframeJournal.open(path, { dim: DIM }),
    (e) =>
      e instanceof JournalCorruptionError && e instanceof MapFormatError &&
      /record 17 \(byte \d+ of \d+\) is damaged and 50 valid record\(s\) follow it/.test(e.message) &&
      /66 valid record\(s\) in all/.test(e.message) && /waymark map repair/.test(e.message),
  );
  assert.deepEqual(await Deno.readFile(path), damaged, "the journal is left untouched");
});

Deno.test("a damaged length field is not mistaken for a torn tail, in the middle or in the last record", async () => {
  const { path, bytes, ends } = await journalOf(6);
  for (const at of [ends[1], ends[4]]) { // the length field of record 3 and of the last record (6)
    for (const bit of [0x01, 0x40]) {
      const damaged = bytes.slice();
      damaged[at + 1] ^= bit;
      await Deno.writeFile(path, damaged);
      await assert.rejects(
        KeyframeJournal.open(path, { dim: DIM }),
        JournalCorruptionError,
        `byte ${at + 1}`,
      );
      assert.deepEqual(await Deno.readFile(path), damaged);
    }
  }
});

Deno.test("journal fuzz: every byte flipped, every prefix truncated: no committed record is ever lost silently", () => {
  // A small journal built in memory exactly as KeyframeJournal writes it.
  const records = [0, 1, 2, 3, 4].map(rec);
  const header = new TextEncoder().encode(JSON.stringify({ dim: DIM, modelId: "m", created: "t" }));
  const head = new Uint8Array(16 + header.length);
  head.set(new TextEncoder().encode("WMJRNL01"));
  const hv = new DataView(head.buffer);
  hv.setUint32(8, header.length, true);
  hv.setUint32(12, crc32Of(header), true);
  head.set(header, 16);
  const bodies = records.map((r) => encodeRecord(r, DIM));
  const full = concat([head, ...bodies]);
  const ends: number[] = [];
  let o = head.length;
  for (const b of bodies) ends.push(o += b.length);
  const same = (a: JournalRecord, b: JournalRecord) => assert.deepEqual(a, b);
  let flips = 0, errors = 0, intact = 0;
  for (let pos = 0; pos < full.length; pos++) {
    for (const bit of [0x01, 0x80]) {
      const bytes = full.slice();
      bytes[pos] ^= bit;
      flips++;
      let r;
      try {
        r = parseJournal(bytes);
      } catch (e) {
        assert.ok(e instanceof MapFormatError, `flip at ${pos}: ${e}`);
        errors++;
        continue;
      }
      // Not an error: every committed record must be there, intact (a flip is never a torn tail).
      assert.equal(r.tornBytes, 0, `flip at ${pos} read as a torn tail`);
      assert.equal(r.records.length, records.length, `flip at ${pos} lost records silently`);
      r.records.forEach((x, i) => same(x, records[i]));
      intact++;
    }
  }
  let truncations = 0;
  for (let cut = 0; cut < full.length; cut++) {
    const bytes = full.slice(0, cut);
    truncations++;
    if (cut < ends[0] - bodies[0].length) {
      assert.throws(() => parseJournal(bytes), MapFormatError, `cut inside the header at ${cut}`);
      continue;
    }
    const r = parseJournal(bytes);
    const complete = ends.filter((e) => e <= cut).length;
    assert.equal(r.records.length, complete, `cut at ${cut}: the complete records before the cut survive`);
    r.records.forEach((x, i) => same(x, records[i]));
    const lastEnd = complete === 0 ? head.length : ends[complete - 1];
    assert.equal(r.tornBytes, cut - lastEnd, `cut at ${cut}: only the incomplete last record is dropped`);
  }
  assert.equal(flips, 2 * full.length);
  assert.equal(truncations, full.length);
  // Sanity of the fuzz itself: flips in payloads must be caught, not pass as intact.
  assert.ok(errors > 0.95 * flips, `errors ${errors} of ${flips} flips (intact reads: ${intact})`);
});

Deno.test("repairMap keeps every valid record, moves the damaged bytes aside and renumbers ids so the journal folds", async () => {
  const { dir, path, bytes, ends } = await journalOf(12);
  const damaged = bytes.slice();
  damaged[ends[3] + 30] ^= 0x04; // record 5 (index 4)
  await Deno.writeFile(path, damaged);
  const r = await repairMap(dir);
  assert.equal(r.action, "repaired");
  assert.equal(r.validRecords, 11);
  assert.equal(r.damaged.length, 1);
  assert.equal(r.damagedBytes, ends[4] - ends[3]);
  assert.equal(r.renumbered, 7, "records 6..12 take ids 4..10");
  const aside = await Deno.readFile(r.damagedFile!);
  assert.deepEqual(aside, damaged.subarray(ends[3], ends[4]), "the damaged bytes, kept");
  const j = await KeyframeJournal.open(path, { dim: DIM });
  assert.deepEqual(
    j.replayed.map((x) => x.meta.image),
    [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11].map((i) => `k${i}`),
  );
  assert.deepEqual(j.replayed.map((x) => x.placeId), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await j.close();
  // The salvaged journal folds into a map, and the damaged bytes stay with it.
  const model = { name: "m", id: "m", dim: DIM, bundled: false };
  const c = await compactMap(dir, { model, index: "exact" });
  assert.equal(c.folded, 11);
  const data = await readMapData(dir);
  assert.equal(data.places[4].image, "k5");
  assert.deepEqual(await Deno.readFile(`${dir}/${r.damagedFile!.split("/").at(-1)}`), aside);
  // A second repair finds nothing to do.
  assert.equal((await repairMap(dir)).action, "none");
});

Deno.test("repairMap renumbers two writers' interleaved records (duplicate ids) so that the map folds again", async () => {
  const dir = await tempDir();
  const path = `${dir}/journal.wal`;
  const h = await Deno.readFile((await journalOf(0)).path);
  // What two unlocked writers produced before the lock existed: ids 0,0,1,1,2,2.
  await Deno.writeFile(path, concat([h, ...[0, 0, 1, 1, 2, 2].map((i) => encodeRecord(rec(i), DIM))]));
  const model = { name: "m", id: "m", dim: DIM, bundled: false };
  await assert.rejects(compactMap(dir, { model, index: "exact" }), /record 1 has placeId 0, expected 1/);
  const r = await repairMap(dir);
  assert.equal(r.renumbered, 5);
  assert.equal((await compactMap(dir, { model, index: "exact" })).folded, 6);
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function crc32Of(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

Deno.test("repairMap rebuilds a damaged journal header from the map's manifest and keeps every record", async () => {
  const { writeMap } = await import("../../src/map/map_writer.ts");
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, {
    model: { name: "m", id: "m", dim: DIM, bundled: false },
    places: [{ placeId: 0, image: "a.jpg", stamp: 0 }],
    descriptors: new Float32Array(DIM).fill(0.5),
    index: { kind: "exact" },
  });
  const { path, bytes, headerEnd } = await journalOf(0, dir);
  // records 1..5 (the map holds place 0), appended after the header
  const body = [1, 2, 3, 4, 5].map((i) => encodeRecord(rec(i), DIM));
  const damaged = concat([bytes, ...body]);
  damaged[headerEnd - 3] ^= 0x08; // inside the header JSON
  await Deno.writeFile(path, damaged);
  await assert.rejects(KeyframeJournal.open(path, { dim: DIM }), /header checksum mismatch/);
  const r = await repairMap(dir);
  assert.equal(r.headerRebuilt, true);
  assert.equal(r.validRecords, 5);
  assert.deepEqual(
    await Deno.readFile(r.damagedFile!),
    damaged.subarray(0, headerEnd),
    "the old header, kept",
  );
  const j = await KeyframeJournal.open(path, { dim: DIM, modelId: "m" });
  assert.deepEqual(j.replayed.map((x) => x.placeId), [1, 2, 3, 4, 5]);
  await j.close();
  // without a map there is nothing to rebuild the header from: refused, nothing changed
  const bare = await tempDir();
  const lone = await journalOf(2, bare);
  const broken = lone.bytes.slice();
  broken[lone.headerEnd - 3] ^= 0x08;
  await Deno.writeFile(lone.path, broken);
  await assert.rejects(repairMap(bare), /no map to take the descriptor size and model id from/);
  assert.deepEqual(await Deno.readFile(lone.path), broken);
});
