import assert from "node:assert/strict";
import { frameEvents } from "../../src/pipeline/frame_events.ts";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { PipelineStats } from "../../src/pipeline/pipeline_stats.ts";
import type { ErrorEvent } from "../../src/types.ts";
import { codeFrame, loopEvent } from "./_fakes.ts";

function work(seq: number, opts: Partial<FrameWork> = {}): FrameWork {
  return { frame: codeFrame(seq, 0), receivedAt: 10, ...opts };
}

const loop = loopEvent(3, 1);

Deno.test("frame events: a failed frame is its error alone, counted as an error, not as processed", () => {
  const stats = new PipelineStats();
  const error: ErrorEvent = {
    kind: "error",
    stamp: 0,
    error: "Error",
    message: "bad",
    seq: 1,
    cause: "decode",
  };
  const events = frameEvents(
    work(1, { error, estimate: { stamp: 1, seq: 1, placeId: 2, confidence: 1, status: "localized" } }),
    stats,
    () => 15,
    true,
  );
  assert.deepEqual(events, [error]);
  const ev = stats.event(0, "cpu");
  assert.equal(ev.errors, 1);
  assert.equal(ev.processed, 0);
  assert.equal(ev.latencyMs, undefined);
});

Deno.test("frame events: an estimate with its latency on the clock, then the loop; skipped frames counted", () => {
  const stats = new PipelineStats();
  const estimate = { stamp: 3, seq: 3, placeId: 2, confidence: 0.8, status: "localized" as const };
  const events = frameEvents(
    work(3, { estimate, loop, skipped: "uniform" as FrameWork["skipped"] }),
    stats,
    () => 25,
    true,
  );
  assert.deepEqual(events, [{ kind: "estimate", estimate, hypotheses: [], latencyMs: 15 }, loop]);
  const ev = stats.event(0, "cpu");
  assert.equal(ev.processed, 1);
  assert.equal(ev.skipped, 1);
  assert.equal(ev.latencyMs?.p50, 15);
});

Deno.test("frame events: without a map the latency is frame in to frame out; with one, no estimate no latency", () => {
  let reads = 0;
  const clock = () => (reads++, 18);
  const slam = new PipelineStats();
  assert.deepEqual(frameEvents(work(4), slam, clock, false), []);
  assert.equal(slam.event(0, "cpu").latencyMs?.p50, 8);
  const withMap = new PipelineStats();
  assert.deepEqual(frameEvents(work(5), withMap, clock, true), []);
  assert.equal(withMap.event(0, "cpu").latencyMs, undefined);
  assert.equal(reads, 1, "the clock is read only for a latency that is recorded");
});
