import assert from "node:assert/strict";
import { join } from "node:path";
import { writeAliasedLoopDataset } from "../../src/eval/aliased_loops.ts";
import { readLoopDataset } from "../../src/dataset/loop_dataset.ts";
import { readCsvFile } from "../../src/dataset/csv.ts";
import { DatasetError, ValidationError } from "../../src/errors.ts";
import { needsShared, sharedPath } from "../_shared.ts";

Deno.test("aliased sim dataset: one lap then a partial revisit; every loop joins a revisit to an earlier frame within the radius", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seen: boolean[] = [];
    const s = await writeAliasedLoopDataset("sim", dir, {
      width: 64,
      height: 48,
      framesPerLap: 60,
      revisitLaps: 0.5,
      transform: (img, f) => {
        seen[f.index] = f.revisit;
        return img;
      },
    });
    assert.equal(s.frames, 60 + 30);
    const ds = await readLoopDataset(dir);
    assert.equal(ds.frames.length, s.frames);
    assert.ok(s.loopFrames > 10, `loop frames ${s.loopFrames}`);
    let pairs = 0;
    ds.loops.forEach((matches, q) => {
      assert.equal(seen[q], matches.length > 0, `revisit flag of frame ${q}`);
      for (const m of matches) {
        pairs++;
        const a = ds.frames[q].position!, b = ds.frames[m].position!;
        assert.ok(Math.hypot(a.x - b.x, a.y - b.y) <= 2.5, `pair ${q},${m} is not the same place`);
        assert.ok(ds.frames[q].stamp - ds.frames[m].stamp >= 20);
      }
    });
    assert.equal(pairs, s.loops);
    // The first lap closes no loop with itself: its look-alike segments are bait only.
    assert.ok(ds.loops.slice(0, 60).every((l) => l.length === 0));
    const info = await Deno.stat(join(dir, ds.frames[0].image));
    assert.ok(info.size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeAliasedLoopDataset refuses a missing or non-empty folder, an unknown kind and a real set without source", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeAliasedLoopDataset("sim", join(dir, "absent")), DatasetError);
    await Deno.writeTextFile(join(dir, "x.txt"), "keep");
    await assert.rejects(() => writeAliasedLoopDataset("sim", dir), /not empty/);
    assert.equal(await Deno.readTextFile(join(dir, "x.txt")), "keep");
    await Deno.remove(join(dir, "x.txt"));
    // deno-lint-ignore no-explicit-any
    await assert.rejects(() => writeAliasedLoopDataset("other" as any, dir), ValidationError);
    await assert.rejects(() => writeAliasedLoopDataset("real", dir), /source/);
    await assert.rejects(() => writeAliasedLoopDataset("sim", dir, { width: 8 }), /width/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "aliased real dataset: look-alike stretches come before the revisits and own no loop; truth follows gt.csv",
  ...needsShared(),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const source = sharedPath("data/rtabmap_samples_loop");
      const s = await writeAliasedLoopDataset("real", dir, { source });
      assert.equal(s.frames, 20 + 13 + 16 + 20 + 13);
      const ds = await readLoopDataset(dir);
      const gt = await readCsvFile(join(source, "gt.csv"));
      const pairs = new Set(gt.rows.map((r) => `${r.fields[2]},${r.fields[3]}`));
      const frameOf = (i: number) => Number(/_[fm](\d+)\.jpg$/.exec(ds.frames[i].image)![1]);
      const mirrored = (i: number) => /_m\d+\.jpg$/.test(ds.frames[i].image);
      let loops = 0;
      ds.loops.forEach((matches, q) => {
        // A (0..19), B (20..32) and the mirrored M (33..48) are first sightings: no loop.
        if (q < 49) assert.deepEqual(matches, [], `frame ${q} of a look-alike or first stretch`);
        for (const m of matches) {
          loops++;
          assert.ok(!mirrored(m));
          const [a, b] = [frameOf(q), frameOf(m)];
          const hi = Math.max(a, b), lo = Math.min(a, b);
          const samePass = (hi <= 40) === (lo <= 40);
          assert.ok(pairs.has(`${hi},${lo}`) || (samePass && hi - lo <= 2), `pair ${a},${b}`);
        }
      });
      assert.equal(loops, s.loops);
      // C (49..68) revisits A; D (69..81) revisits B.
      assert.ok(ds.loops[60].every((m) => m < 20));
      assert.ok(ds.loops[75].every((m) => m >= 20 && m < 33));
      assert.equal(s.loopFrames, 33);
      const img = await Deno.readFile(join(dir, ds.frames[0].image));
      assert.ok(img.length > 0);
      const noMirror = await Deno.makeTempDir();
      try {
        const t = await writeAliasedLoopDataset("real", noMirror, { source, mirror: false });
        assert.equal(t.frames, 66);
        assert.equal(t.loops, s.loops);
      } finally {
        await Deno.remove(noMirror, { recursive: true });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
