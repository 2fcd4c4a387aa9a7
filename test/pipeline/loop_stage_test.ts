/**
 * The loop stage against a prior map: only keyframes the map does not explain join the session map, the map
 * part comes from the search stage, and the session map stays bounded (int8 rows, thinned when full) while
 * still closing loops with the start of a long run. SLAM mode (`admit: "all"`) keeps every keyframe.
 */
import assert from "node:assert/strict";
import { encodeImage } from "../../src/io/simulator/encode.ts";
import { decodeStage } from "../../src/pipeline/decode_stage.ts";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { loopStage } from "../../src/pipeline/loop_stage.ts";
import { createStageRunner } from "../../src/pipeline/stage_runner.ts";
import type { LocalizationStatus, LoopClosureEvent } from "../../src/types.ts";
import { codeFrame, codeVector } from "./_fakes.ts";

function work(seq: number, code: number, status: LocalizationStatus): FrameWork {
  return {
    frame: codeFrame(seq, code),
    receivedAt: 0,
    keyframe: true,
    descriptor: { global: codeVector(code) },
    estimate: {
      stamp: seq / 10,
      seq,
      placeId: status === "localized" ? code : null,
      confidence: 0.9,
      status,
    },
  };
}

Deno.test("loop stage with a map: localized and repeated keyframes do not join the session map", async () => {
  const joined: number[] = [];
  const runner = createStageRunner(loopStage({
    prior: [{ placeId: 100 }, { placeId: 101 }],
    priorFromSearch: true,
    admit: "novel",
    onKeyframe: (kf) => void joined.push(kf.seq),
  }));
  const a = await runner.push(work(0, 10, "localized"));
  const b = await runner.push(work(1, 20, "lost"));
  const c = await runner.push(work(2, 20, "lost")); // same view again: not novel
  const d = await runner.push(work(3, 21, "uncertain")); // similarity 0.78 < 0.9: novel
  runner.close();
  assert.equal(a.sessionPlaceId, undefined);
  assert.equal(b.sessionPlaceId, 102, "session ids follow the prior's");
  assert.equal(c.sessionPlaceId, undefined);
  assert.equal(d.sessionPlaceId, 103);
  assert.deepEqual(joined, [1, 3]);
});

Deno.test("loop stage with a map: the map part of a loop comes from the search stage's hypotheses", async () => {
  const prior = Array.from({ length: 40 }, (_, i) => ({ placeId: i, stamp: i }));
  const runner = createStageRunner(loopStage({
    prior,
    priorFromSearch: true,
    admit: "novel",
    detector: { excludeRecent: 2, minCandidates: 5 },
  }));
  const loops: LoopClosureEvent[] = [];
  for (let t = 0; t < 12; t++) {
    const code = 10 + t;
    const w = work(t, code, "localized");
    // What the search stage would write: the top 5 map places around the true one, and a background.
    w.hypotheses = [0, -1, 1, -2, 2].map((o, rank) => ({
      placeId: code + o,
      similarity: Math.exp(-(o * o) / 4),
      rank,
    }));
    w.background = { mean: 0.05, std: 0.1 };
    const out = await runner.push(w);
    if (out.loop) loops.push(out.loop);
  }
  runner.close();
  assert.ok(loops.length >= 8, `loops: ${loops.length}`);
  for (const l of loops) {
    assert.equal(l.match.placeId, l.query.seq + 10, "matched the map place of the frame");
    assert.equal(l.match.stamp, l.match.placeId);
    assert.equal(l.query.placeId, undefined, "a localized frame has no session place");
  }
});

/** Two laps through 64 places the map does not know, then a revisit of the first 8; what the revisit matched. */
async function capRun(maxSession: number) {
  let joined = 0;
  const runner = createStageRunner(loopStage({
    admit: "novel",
    maxSession,
    // minSpan 0: this test is about which rows survive the thinning (a loop to a lone surviving place), not
    // about the detector's consistency over map distance.
    detector: { excludeRecent: 5, minCandidates: 5, minSpan: 0 },
    onKeyframe: () => void joined++,
  }));
  const codeOf = new Map<number, number>(); // session place id -> code
  let seq = 0;
  for (let lap = 0; lap < 2; lap++) {
    for (let code = 0; code < 64; code++) {
      const out = await runner.push(work(seq++, code, "lost"));
      if (out.sessionPlaceId !== undefined) codeOf.set(out.sessionPlaceId, code);
    }
  }
  const loops: { code: number; matched: number | undefined; score: number }[] = [];
  for (let code = 0; code < 8; code++) {
    const out = await runner.push(work(seq++, code, "lost"));
    if (out.loop) loops.push({ code, matched: codeOf.get(out.loop.match.placeId), score: out.loop.score });
  }
  runner.close();
  return { joined, loops };
}

Deno.test("loop stage: a capped session map thins its older half but keeps covering the run's start", async () => {
  const full = await capRun(1024);
  const capped = await capRun(16);
  assert.equal(full.joined, 136, "every novel keyframe joined, the revisit too (and was journaled)");
  assert.equal(capped.joined, 136);
  // Uncapped: the revisit matches the first lap's keyframe of the same place (int8 rows: score ~ 1).
  assert.ok(full.loops.length >= 5, `loops: ${full.loops.length}`);
  for (const l of full.loops) {
    assert.equal(l.matched, l.code);
    assert.ok(Math.abs(l.score - 1) < 1e-2, `score ${l.score}`);
  }
  // Capped at 16 rows after 128: most of the first lap is gone, its oldest keyframe is still there.
  assert.ok(capped.loops.length >= 1, "the start of the run is still covered");
  assert.ok(capped.loops.every((l) => l.matched === 0), JSON.stringify(capped.loops));
  assert.ok(capped.loops.some((l) => l.code !== 0), "keyframes of the older half were dropped");
});

Deno.test("loop stage with novel admission: a robot standing still off the map closes no loop with itself", async () => {
  const runner = createStageRunner(loopStage({ admit: "novel" }));
  let seq = 0;
  for (let code = 0; code < 20; code++) await runner.push(work(seq++, code, "lost")); // novel places
  const loops: LoopClosureEvent[] = [];
  for (let i = 0; i < 40; i++) {
    const out = await runner.push(work(seq++, 40, "lost")); // the same view, keyframe after keyframe
    if (out.loop) loops.push(out.loop);
  }
  runner.close();
  assert.deepEqual(loops, [], "its own last keyframe stays in the excluded recent window");
});

Deno.test("loop stage validates admit, novelty, maxSession and prior descriptors", () => {
  assert.throws(() => loopStage({ admit: "some" as "all" }), /admit/);
  assert.throws(() => loopStage({ novelty: 2 }), /novelty/);
  assert.throws(() => loopStage({ admit: "novel", maxSession: 1 }), /maxSession/);
  assert.throws(() => loopStage({ prior: [{ placeId: 1 }] }), /prior\[0\]\.descriptor/);
});

Deno.test("decode stage with a size decodes a JPEG straight to that size", async () => {
  const px = new Uint8Array(64 * 48 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 251;
  const jpeg = await encodeImage({ width: 64, height: 48, channels: 3, data: px }, "jpeg", 90);
  const runner = createStageRunner(decodeStage({ channels: 1, size: { width: 16, height: 12 } }));
  const out = await runner.push({
    frame: { seq: 0, stamp: 0, frameId: "cam", image: { kind: "encoded", format: "jpeg", data: jpeg } },
    receivedAt: 0,
  });
  const bad = await runner.push({
    frame: {
      seq: 1,
      stamp: 0,
      frameId: "cam",
      image: { kind: "encoded", format: "jpeg", data: jpeg.subarray(0, 40) },
    },
    receivedAt: 0,
  });
  runner.close();
  assert.equal(out.error, undefined);
  assert.deepEqual([out.pixels?.width, out.pixels?.height, out.pixels?.channels], [16, 12, 1]);
  assert.equal(out.pixels?.data.length, 16 * 12);
  assert.equal(bad.error?.error, "ImageDecodeError");
  assert.throws(() => decodeStage({ size: { width: 0, height: 12 } }), /size\.width/);
});

Deno.test("loop stage: loop events carry both frames' exact stamps (time) when the source had them", async () => {
  const runner = createStageRunner(loopStage({
    admit: "novel",
    detector: { excludeRecent: 5, minCandidates: 5 },
  }));
  const timeOf = (seq: number) => ({
    sec: 1_700_000_000 + seq,
    nanosec: (seq * 123_456_791) % 1_000_000_000,
  });
  const seqOfPlace = new Map<number, number>();
  const loops: LoopClosureEvent[] = [];
  let seq = 0;
  for (let lap = 0; lap < 2; lap++) {
    for (let code = 0; code < 32; code++) {
      const w = work(seq, code, "lost");
      w.frame.time = timeOf(seq);
      const out = await runner.push(w);
      if (out.sessionPlaceId !== undefined) seqOfPlace.set(out.sessionPlaceId, seq);
      if (out.loop) loops.push(out.loop);
      seq++;
    }
  }
  runner.close();
  assert.ok(loops.length >= 5, `loops: ${loops.length}`);
  for (const l of loops) {
    assert.deepEqual(l.query.time, timeOf(l.query.seq));
    assert.deepEqual(l.match.time, timeOf(seqOfPlace.get(l.match.placeId)!));
  }
});

Deno.test("loop stage: the descriptor's support reaches the detector (a frame resting on nothing is skipped)", async () => {
  // Two laps over 32 places (SLAM mode); on the second lap one frame's descriptor rests on almost nothing (its
  // support a 500th of the others') and happens to look like another place. Given the support, the detector
  // skips that frame and the loop after it keeps its evidence; without it the frame counts against the track.
  const run = async (withSupport: boolean) => {
    const runner = createStageRunner(loopStage({ detector: { excludeRecent: 5, minCandidates: 5 } }));
    const loops = new Map<number, LoopClosureEvent>();
    let seq = 0;
    for (let lap = 0; lap < 2; lap++) {
      for (let code = 0; code < 32; code++) {
        const faint = lap === 1 && code === 12;
        const w = work(seq, code, "lost");
        w.descriptor = { global: codeVector(faint ? 26 : code) };
        if (withSupport) w.descriptor.support = faint ? 0.001 : 0.5;
        const out = await runner.push(w);
        if (out.loop) loops.set(seq, out.loop);
        seq++;
      }
    }
    runner.close();
    return loops;
  };
  const plain = await run(false), supported = await run(true);
  const after = 32 + 13;
  assert.ok(plain.get(after) && supported.get(after), "a loop at the frame after the faint one either way");
  assert.ok(supported.get(after)!.confidence > plain.get(after)!.confidence);
  assert.equal(supported.get(after - 1), undefined, "no loop from the faint frame");
});
