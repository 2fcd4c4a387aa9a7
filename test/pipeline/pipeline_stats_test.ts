import assert from "node:assert/strict";
import { PipelineStats } from "../../src/pipeline/pipeline_stats.ts";

Deno.test("pipeline stats: counts, errors by cause, and no latency before the first frame", () => {
  const stats = new PipelineStats();
  stats.received = 3;
  stats.processed = 2;
  stats.dropped = 1;
  stats.addError({ kind: "error", stamp: 0, error: "Error", message: "x", cause: "decode" });
  stats.addError({ kind: "error", stamp: 0, error: "Error", message: "y" });
  const ev = stats.event(12, "cpu");
  assert.deepEqual(ev, {
    kind: "stats",
    stamp: 12,
    received: 3,
    processed: 2,
    dropped: 1,
    skipped: 0,
    errors: 2,
    errorsByCause: { decode: 1, other: 1 },
    provider: "cpu",
  });
});

Deno.test("pipeline stats: latency percentiles (interpolated, kernels/stats) over the newest window", () => {
  const stats = new PipelineStats(100);
  for (let i = 1; i <= 100; i++) stats.addLatency(i);
  const a = stats.event(0, "cpu").latencyMs!;
  assert.ok(Math.abs(a.p50 - 50.5) < 1e-9);
  assert.ok(Math.abs(a.p90 - 90.1) < 1e-9);
  assert.ok(Math.abs(a.p99 - 99.01) < 1e-9);
  // 100 more: the window holds only 101..200, whatever order they came in.
  for (let i = 200; i > 100; i--) stats.addLatency(i);
  const b = stats.event(0, "cpu").latencyMs!;
  assert.ok(Math.abs(b.p50 - 150.5) < 1e-9);
  // Numeric, not lexicographic, order: 9 < 10.
  const small = new PipelineStats(2);
  small.addLatency(10);
  small.addLatency(9);
  assert.equal(small.event(0, "cpu").latencyMs!.p50, 9.5);
});
