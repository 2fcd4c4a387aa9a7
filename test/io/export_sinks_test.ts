/** TUM trajectory and loop-closure exports: exact stamps, skipped estimates, CSV quoting and JSON lines. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { StampBook, TumSink } from "../../src/io/tum_sink.ts";
import { LoopsSink } from "../../src/io/loops_sink.ts";
import type { CameraFrame, EstimateEvent, LoopClosureEvent } from "../../src/types.ts";

function frame(seq: number, sec: number, nsec: number): CameraFrame {
  return {
    seq,
    stamp: sec + nsec * 1e-9,
    time: { sec, nanosec: nsec },
    frameId: "",
    image: { kind: "encoded", format: "jpeg", data: new Uint8Array(1) },
  };
}

function estimate(
  seq: number,
  stamp: number,
  position?: { x: number; y: number; z?: number },
): EstimateEvent {
  return {
    kind: "estimate",
    estimate: {
      seq,
      stamp,
      placeId: position ? 3 : null,
      position,
      confidence: 0.9,
      status: position ? "localized" : "lost",
    },
    hypotheses: [],
    latencyMs: 1,
  };
}

async function withTemp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "waymark_export_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("TUM sink: exact stamps from the frames, identity orientation, estimates without a position left out", async () => {
  await withTemp(async (dir) => {
    const book = new StampBook();
    const f0 = frame(0, 1700000000, 12345), f1 = frame(1, 1700000000, 100012346);
    book.observe(f0);
    book.observe(f1);
    // Float stamps cannot hold these nanoseconds: the book must be used.
    assert.notEqual(f1.stamp.toFixed(9), "1700000000.100012346");
    const path = join(dir, "t.tum");
    const sink = await TumSink.create(path, book);
    sink.write(estimate(0, f0.stamp, { x: 1.5, y: -2 }));
    sink.write(estimate(1, f1.stamp)); // lost
    sink.write(estimate(1, f1.stamp, { x: 3, y: 4, z: 5 }));
    sink.write(estimate(7, 12.25, { x: 0, y: 0 })); // a frame without an exact stamp
    sink.write({ kind: "stats", stamp: 0, received: 1, processed: 1, dropped: 0, errors: 0 });
    await sink.close();
    assert.equal(sink.poses, 3);
    assert.equal(sink.skipped, 1);
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.match(lines[0], /^# timestamp tx ty tz qx qy qz qw/);
    assert.deepEqual(lines.slice(1), [
      "1700000000.000012345 1.5 -2 0 0 0 0 1",
      "1700000000.100012346 3 4 5 0 0 0 1",
      "12.250000000 0 0 0 0 0 0 1",
    ]);
  });
});

function loop(qseq: number, qstamp: number, mstamp: number, image: string): LoopClosureEvent {
  return {
    kind: "loop",
    query: { seq: qseq, stamp: qstamp, image },
    match: { placeId: 2, stamp: mstamp, image: "images/3.jpg" },
    stamps: [qstamp, mstamp],
    score: 0.8,
    confidence: 0.7,
    inliers: 40,
  };
}

Deno.test("loops sink: CSV with both exact stamps (quoting), JSON lines by extension", async () => {
  await withTemp(async (dir) => {
    const book = new StampBook();
    const a = frame(2, 1700000000, 200012347), b = frame(40, 1700000004, 12385);
    book.observe(a);
    book.observe(b);
    for (const name of ["l.csv", "l.jsonl"]) {
      const path = join(dir, name);
      const sink = await LoopsSink.create(path, book);
      sink.write(loop(40, b.stamp, a.stamp, 'bag:x,"y".bag#/cam'));
      sink.write(estimate(41, 1, { x: 0, y: 0 }));
      await sink.close();
      assert.equal(sink.loops, 1);
      const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
      if (name.endsWith(".csv")) {
        assert.equal(
          lines[0],
          "query_seq,query_stamp,match_place,match_stamp,score,confidence,inliers,query_image,match_image",
        );
        assert.equal(
          lines[1],
          '40,1700000004.000012385,2,1700000000.200012347,0.8,0.7,40,"bag:x,""y"".bag#/cam",images/3.jpg',
        );
      } else {
        assert.equal(lines.length, 1);
        const j = JSON.parse(lines[0]);
        assert.equal(j.query_stamp, "1700000004.000012385");
        assert.equal(j.match_stamp, "1700000000.200012347");
        assert.equal(j.inliers, 40);
      }
    }
  });
});
