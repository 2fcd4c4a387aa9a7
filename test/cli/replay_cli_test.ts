/**
 * The shared ROS 1 bag through the CLI: `slam --source bag:...` closes the sequence's loops (checked against
 * loops.csv) and `--loops-csv` keeps both stamps exactly; `localize` on the bag against that map writes the loops
 * file and the run summary.
 */
import assert from "node:assert/strict";
import { needsShared, sharedPath } from "../_shared.ts";
import { runCli } from "./_capture.ts";
import { formatTime } from "../../src/io/ros_time.ts";
import { tempDir } from "../map/_tmp.ts";

const BAG = () => `bag:${sharedPath("fixtures/bags/rtabmap_loop_ros1_lz4.bag")}#/camera/image/compressed`;

/** loops.csv of the shared sequence as frame index -> true earlier frames. */
async function truth(): Promise<Map<number, Set<number>>> {
  const dir = sharedPath("data/rtabmap_samples_loop");
  const seq = (await Deno.readTextFile(`${dir}/sequence.csv`)).trim().split(/\r?\n/).slice(1).map((l) =>
    l.split(",")[0]
  );
  const idx = new Map(seq.map((s, i) => [s, i]));
  const out = new Map<number, Set<number>>();
  for (const l of (await Deno.readTextFile(`${dir}/loops.csv`)).trim().split(/\r?\n/).slice(1)) {
    const [q, m] = l.split(",");
    if (!out.has(idx.get(q)!)) out.set(idx.get(q)!, new Set());
    out.get(idx.get(q)!)!.add(idx.get(m)!);
  }
  return out;
}

/** The bag's exact stamp of frame i (fixture README). */
const stampOf = (i: number) =>
  `${1700000000 + Math.floor(i / 10)}.${String((i % 10) * 100000000 + 12345 + i).padStart(9, "0")}`;

Deno.test({
  name:
    "slam and localize on a ROS 1 bag: loops against loops.csv, exact stamps in --loops-csv, a run summary",
  ...needsShared(),
  async fn() {
    const dir = await tempDir();
    const s = await runCli([
      "slam",
      "--source",
      BAG(),
      "--out",
      `${dir}/map`,
      "--rate",
      "max",
      "--loops-csv",
      `${dir}/slam_loops.csv`,
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /--rate max: frames wait in a queue/);
    const rows = (await Deno.readTextFile(`${dir}/slam_loops.csv`)).trim().split("\n");
    assert.equal(
      rows[0],
      "query_seq,query_stamp,match_place,match_stamp,score,confidence,inliers,query_image,match_image",
    );
    const t = await truth();
    const events = rows.slice(1).map((r) => r.split(","));
    assert.ok(events.length >= 35, `${events.length} loops`);
    let correct = 0;
    for (const [q, qs, m, ms] of events) {
      // Every frame is a keyframe here: place id = frame index, so both stamps are the bag's exact ones.
      assert.equal(qs, stampOf(Number(q)));
      assert.equal(ms, stampOf(Number(m)));
      if (t.get(Number(q))?.has(Number(m))) correct++;
    }
    assert.ok(correct / events.length >= 0.9, `${correct} of ${events.length} correct`);
    // The map's places keep each keyframe's exact stamp (integer seconds and nanoseconds).
    const places = (await Deno.readTextFile(`${dir}/map/places.jsonl`)).trim().split("\n").map((l) =>
      JSON.parse(l) as { placeId: number; time?: { sec: number; nanosec: number } }
    );
    assert.ok(places.length > 0);
    for (const p of places) {
      assert.ok(p.time, `place ${p.placeId} has no exact time`);
      assert.equal(formatTime(p.time), stampOf(p.placeId));
    }

    const l = await runCli([
      "localize",
      "--map",
      `${dir}/map`,
      "--source",
      BAG(),
      "--rate",
      "20x",
      "--backpressure",
      "queue:200",
      "--print-hz",
      "0",
      "--tum",
      `${dir}/run.tum`,
      "--loops-csv",
      `${dir}/loops.jsonl`,
    ]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stderr, /replay rate: 20 times the recorded rate/);
    assert.match(l.stderr, /summary: 84 estimates \(/);
    assert.match(l.stderr, /wrote 0 poses to .*run\.tum \(84 estimates without a position left out\)/);
    const jl = (await Deno.readTextFile(`${dir}/loops.jsonl`)).trim().split("\n").map((x) => JSON.parse(x));
    assert.ok(jl.length > 0);
    assert.equal(jl[0].query_stamp, stampOf(jl[0].query_seq));
  },
});
