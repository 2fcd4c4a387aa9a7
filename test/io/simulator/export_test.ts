import assert from "node:assert/strict";
import { readLoopDataset } from "../../../src/dataset/loop_dataset.ts";
import { readRetrievalDataset } from "../../../src/dataset/retrieval_dataset.ts";
import { DatasetError } from "../../../src/errors.ts";
import { exportSimDataset } from "../../../src/io/simulator/export.ts";
import { parseCsv } from "./_helpers.ts";

const OPTIONS = { width: 96, height: 72, frames: 40, traversals: 2, seed: 4, quality: 80 } as const;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_sim_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("exportSimDataset() writes both dataset layouts whose images exist and that the dataset readers accept", async () => {
  await withTempDir(async (dir) => {
    const summary = await exportSimDataset(dir, OPTIONS);
    assert.equal(summary.frames, 80);
    assert.equal(summary.database, 40);
    assert.equal(summary.queries, 40);
    assert.ok(summary.queriesWithMatch >= 38, `${summary.queriesWithMatch} queries with a match`);
    assert.ok(summary.loopQueries >= 38, `${summary.loopQueries} loop frames`);

    const seq = parseCsv(await Deno.readTextFile(`${dir}/sequence.csv`));
    assert.deepEqual(seq.header, ["image", "stamp", "x", "y"]);
    assert.equal(seq.rows.length, 80);
    for (const [image] of seq.rows) {
      const bytes = await Deno.readFile(`${dir}/${image}`);
      assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], `${image} is a JPEG`);
    }
    const stamps = seq.rows.map((r) => Number(r[1]));
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1], "stamps increase");

    const ret = await readRetrievalDataset(dir);
    assert.equal(ret.groundTruth, "matches");
    assert.equal(ret.database.length, 40);
    assert.equal(ret.queries.length, 40);
    const loops = await readLoopDataset(dir);
    assert.equal(loops.frames.length, 80);
    assert.equal(loops.loops.filter((l) => l.length > 0).length, summary.loopQueries);
  });
});

Deno.test("exportSimDataset() matches and loops agree with positions, headings and the recent-window exclusion", async () => {
  await withTempDir(async (dir) => {
    await exportSimDataset(dir, { ...OPTIONS, radius: 2.5, headingDeg: 30, excludeSeconds: 20 });
    const poses = parseCsv(await Deno.readTextFile(`${dir}/poses.csv`));
    const byImage = new Map(
      poses.rows.map((
        r,
      ) => [r[0], {
        t: Number(r[1]),
        stamp: Number(r[3]),
        x: Number(r[4]),
        y: Number(r[5]),
        h: Number(r[6]),
      }]),
    );
    const headingDiff = (a: number, b: number) => {
      const d = Math.abs(a - b) % 360;
      return d > 180 ? 360 - d : d;
    };
    const same = (a: string, b: string) => {
      const p = byImage.get(a)!, q = byImage.get(b)!;
      return Math.hypot(p.x - q.x, p.y - q.y) <= 2.5 + 1e-3 && headingDiff(p.h, q.h) <= 30 + 1e-3;
    };
    const matches = parseCsv(await Deno.readTextFile(`${dir}/matches.csv`)).rows;
    assert.ok(matches.length > 0);
    const matchSet = new Set(matches.map(([q, d]) => `${q}|${d}`));
    for (const [q, d] of matches) {
      assert.equal(byImage.get(q)!.t, 1, "queries come from traversal 2");
      assert.equal(byImage.get(d)!.t, 0, "database is traversal 1");
      assert.ok(same(q, d), `${q} ~ ${d}`);
    }
    // Completeness: every same-place pair is listed.
    const images = [...byImage.keys()];
    for (const q of images.filter((i) => byImage.get(i)!.t === 1)) {
      for (const d of images.filter((i) => byImage.get(i)!.t === 0)) {
        if (same(q, d)) assert.ok(matchSet.has(`${q}|${d}`), `missing match ${q} ${d}`);
      }
    }
    const loops = parseCsv(await Deno.readTextFile(`${dir}/loops.csv`)).rows;
    assert.ok(loops.length > 0);
    for (const [q, m] of loops) {
      const pq = byImage.get(q)!, pm = byImage.get(m)!;
      assert.ok(pq.stamp - pm.stamp >= 20, `loop ${q} -> ${m} within the recent window`);
      assert.ok(same(q, m));
    }
  });
});

Deno.test("exportSimDataset() is deterministic: the same seed gives the same files", async () => {
  await withTempDir(async (a) => {
    await withTempDir(async (b) => {
      const small = { ...OPTIONS, frames: 12 };
      await exportSimDataset(a, small);
      await exportSimDataset(b, small);
      for (
        const f of ["sequence.csv", "loops.csv", "matches.csv", "images/t1_00005.jpg", "images/t0_00011.jpg"]
      ) {
        assert.deepEqual(await Deno.readFile(`${a}/${f}`), await Deno.readFile(`${b}/${f}`), f);
      }
    });
  });
});

Deno.test("exportSimDataset() refuses a non-empty folder unless overwrite, and bad options", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/keep.txt`, "mine");
    await assert.rejects(() => exportSimDataset(dir, { ...OPTIONS, frames: 4 }), DatasetError);
    assert.equal(await Deno.readTextFile(`${dir}/keep.txt`), "mine");
    await exportSimDataset(dir, { ...OPTIONS, frames: 4, overwrite: true });
    assert.ok((await Deno.stat(`${dir}/database.csv`)).isFile);
    await assert.rejects(() => exportSimDataset(dir, { ...OPTIONS, quality: 0, overwrite: true }), /quality/);
    await assert.rejects(
      () => exportSimDataset(dir, { ...OPTIONS, traversals: 0, overwrite: true }),
      /traversals/,
    );
  });
});
