import assert from "node:assert/strict";
import { ValidationError } from "../../src/errors.ts";
import { ReplayClock, replayTiming } from "../../src/io/_replay_runs.ts";

Deno.test("replayTiming: defaults, and a bad rate or speed is a ValidationError naming it", () => {
  assert.deepEqual(replayTiming("replay x", {}), { rate: "recorded", speed: 1 });
  assert.deepEqual(replayTiming("replay x", { rate: 5, speed: 2 }), { rate: 5, speed: 2 });
  assert.throws(
    () => replayTiming("replay x", { rate: 0 }),
    (e) => e instanceof ValidationError && /'rate'/.test(e.message),
  );
  assert.throws(() => replayTiming("replay x", { rate: "fast" as never }), ValidationError);
  assert.throws(
    () => replayTiming("replay x", { speed: 0 }),
    (e) => e instanceof ValidationError && /'speed'/.test(e.message),
  );
});

Deno.test("ReplayClock: max never waits nor reads the recorded offset; at a frame rate the offset is not read", async () => {
  const signal = new AbortController().signal;
  let reads = 0;
  await new ReplayClock({ rate: "max", speed: 1 }).waitFor(1000, () => (reads++, 1e9), signal);
  await new ReplayClock({ rate: 10, speed: 1 }).waitFor(0, () => (reads++, 1e9), signal);
  assert.equal(reads, 0);
  await new ReplayClock({ rate: "recorded", speed: 1 }).waitFor(5, () => (reads++, -1000), signal);
  assert.equal(reads, 1, "the recorded rate reads the offset");
});

Deno.test("ReplayClock: an abort ends the wait for an item due far ahead", async () => {
  const abort = new AbortController();
  const waiting = new ReplayClock({ rate: "recorded", speed: 1 }).waitFor(1, () => 3_600_000, abort.signal);
  abort.abort();
  await waiting; // resolves (never rejects) once aborted
});
