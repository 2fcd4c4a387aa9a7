/** `--rate` / `--backpressure` of the streaming commands and the run summary. */
import assert from "node:assert/strict";
import { describeRate, MAX_RATE_QUEUE, sourceOptions, streamPolicy } from "../../src/cli/_replay_options.ts";
import { RunSummary } from "../../src/cli/_run_summary.ts";
import { ValidationError } from "../../src/errors.ts";

Deno.test("--rate: recorded, max, Nx factor and frames per second reach every replayed source kind", () => {
  assert.deepEqual(sourceOptions("x", undefined), {});
  assert.deepEqual(sourceOptions("x", "max").recorded, { rate: "max" });
  assert.deepEqual(sourceOptions("x", "max").replay, { rate: "max" });
  assert.deepEqual(sourceOptions("x", "2.5x"), { replay: { speed: 2.5 }, recorded: { speed: 2.5 } });
  assert.deepEqual(sourceOptions("x", "15").recorded, { rate: 15 });
  for (const bad of ["0", "fast", "0x", "-3"]) {
    assert.throws(
      () => sourceOptions("x", bad),
      (e: Error) => e instanceof ValidationError && e.message.includes(bad),
    );
  }
});

Deno.test("--rate max queues every frame unless a policy is given; the rate is announced for replays", () => {
  const max = streamPolicy(undefined, "max");
  assert.deepEqual(max.policy, { kind: "queue", capacity: MAX_RATE_QUEUE });
  assert.match(max.note!, /queue/);
  assert.deepEqual(streamPolicy("latest", "max"), { policy: { kind: "latest" } });
  assert.deepEqual(streamPolicy(undefined, undefined), { policy: { kind: "latest" } });
  assert.deepEqual(streamPolicy("queue:8", undefined).policy, { kind: "queue", capacity: 8 });
  assert.match(describeRate("dataset:/d", undefined)!, /as recorded.*1 frame\/s/);
  assert.match(describeRate("bag:/b.bag#/c", "3x")!, /3 times/);
  assert.match(describeRate("mcap:/m.mcap", "max")!, /as fast/);
  assert.equal(describeRate("ws://h:1/c", "max"), null);
});

Deno.test("run summary: counts by status, loops and errors; stats lines at most every few seconds", () => {
  const s = new RunSummary();
  assert.equal(s.statsDue(0), true);
  assert.equal(s.statsDue(1000), false);
  assert.equal(s.statsDue(6000), true);
  for (const status of ["localized", "localized", "lost"] as const) {
    s.observe({
      kind: "estimate",
      estimate: { seq: 0, stamp: 0, placeId: null, confidence: 0, status },
      hypotheses: [],
      latencyMs: 2,
    });
  }
  s.observe({ kind: "error", stamp: 0, error: "E", message: "m" });
  s.observe({ kind: "stats", stamp: 0, received: 5, processed: 3, dropped: 2, errors: 1 });
  const text = s.lines().join("\n");
  assert.match(text, /3 estimates \(localized 2, lost 1\), 0 loop closures, 1 errors/);
  assert.match(text, /2 frames dropped by the backpressure policy/);
  assert.equal(s.unprintedStats()?.received, 5);
  s.statsDue(20000);
  assert.equal(s.unprintedStats(), null);
  assert.match(text, /latency p50 2\.0 ms/);
});
