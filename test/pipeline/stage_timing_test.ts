import assert from "node:assert/strict";
import { firstValueFrom, map, of, pipe } from "rxjs";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { afterStage, type FrameTiming, reportTiming, startTiming } from "../../src/pipeline/stage_timing.ts";
import { codeFrame } from "./_fakes.ts";

Deno.test("stage timing: wait, per-stage and total times on the given clock", async () => {
  let now = 10;
  const clock = () => now;
  const slow = (ms: number) => map((w: FrameWork) => ((now += ms), w));
  const work: FrameWork = { frame: codeFrame(3, 0), receivedAt: 4, keyframe: true };
  const done = await firstValueFrom(
    of(work).pipe(
      startTiming(clock, true),
      pipe(slow(2), afterStage("decode", clock, true)),
      pipe(slow(5), afterStage("describe", clock, true)),
    ),
  );
  const got: FrameTiming[] = [];
  reportTiming(done, (t) => got.push(t));
  assert.deepEqual(got, [{
    seq: 3,
    keyframe: true,
    waitMs: 6,
    stages: { decode: 2, describe: 5 },
    totalMs: 13,
  }]);
  // A profiler that throws does not break the caller.
  reportTiming(done, () => {
    throw new Error("profiler");
  });
});

Deno.test("stage timing: off records nothing; an error's cause is the stage that set it", async () => {
  const work: FrameWork = {
    frame: codeFrame(1, 0),
    receivedAt: 0,
    error: { kind: "error", stamp: 0, error: "Error", message: "bad" },
  };
  const named: FrameWork = {
    frame: codeFrame(2, 0),
    receivedAt: 0,
    error: { kind: "error", stamp: 0, error: "Error", message: "bad", cause: "stamp" },
  };
  const clock = () => 0;
  const [a, b] = await Promise.all([work, named].map((w) =>
    firstValueFrom(
      of(w).pipe(
        startTiming(clock, false),
        afterStage("decode", clock, false),
        afterStage("loop", clock, false),
      ),
    )
  ));
  assert.equal(a.timing, undefined);
  assert.equal(a.error?.cause, "decode");
  assert.equal(b.error?.cause, "stamp");
  let called = false;
  reportTiming(a, () => (called = true));
  assert.equal(called, false);
});
