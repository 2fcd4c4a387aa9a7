import assert from "node:assert/strict";
import { createGeometricVerifier } from "../../src/pipeline/geometric_verifier.ts";
import { evaluateLoops, loopsReportJson } from "../../src/eval/loops.ts";
import { scoreLoops } from "../../src/eval/_metrics_stream.ts";
import { needsShared, sharedPath } from "../_shared.ts";

Deno.test("scoreLoops keeps one event per frame and walks down confidences until the first false event", () => {
  const truth = [[], [], [], [0], [1], [2]];
  const s = scoreLoops([
    { query: 3, match: 0, confidence: 0.9 },
    { query: 3, match: 1, confidence: 0.2 }, // same frame, lower: ignored
    { query: 4, match: 1, confidence: 0.8 },
    { query: 2, match: 0, confidence: 0.7 }, // false (no loop at frame 2)
    { query: 5, match: 2, confidence: 0.6 },
  ], truth);
  assert.equal(s.events, 4);
  assert.equal(s.correct, 3);
  assert.equal(s.precision, 0.75);
  assert.equal(s.recall, 1);
  assert.equal(s.recallAt100Precision, 2 / 3);
  assert.equal(s.loopFrames, 3);
});

Deno.test("scoreLoops: without events precision is undefined (NaN), not 0; eval loops JSON says null", () => {
  const s = scoreLoops([], [[], [0]]);
  assert.equal(s.events, 0);
  assert.ok(Number.isNaN(s.precision));
  assert.equal(s.recall, 0);
  assert.equal(s.recallAt100Precision, 0);
  const latencyMs = { p50: 0, p90: 0, p99: 0, mean: 0 };
  const model = { name: "m", id: "m", dim: 1, provider: "cpu", vocabulary: "given" as const };
  const json = loopsReportJson({
    dataset: "d",
    frames: 2,
    failedFrames: 0,
    scores: s,
    hypotheses: s,
    events: [],
    latencyMs,
    model,
  });
  assert.equal(json.precision, null);
  assert.equal((json.hypotheses as { precision: unknown }).precision, null);
  assert.equal(JSON.parse(JSON.stringify(json)).precision, null);
});

Deno.test("scoreLoops: a false event tied with true ones stops the walk before them", () => {
  const s = scoreLoops([{ query: 1, match: 0, confidence: 0.5 }, { query: 2, match: 0, confidence: 0.5 }], [
    [],
    [0],
    [],
  ]);
  assert.equal(s.recallAt100Precision, 0);
});

Deno.test({
  name:
    "evaluateLoops on rtabmap_samples_loop: every emitted loop true, hypotheses ranked at recall >= 0.90 at 100% precision",
  ...needsShared(),
  fn: async () => {
    const r = await evaluateLoops(sharedPath("data/rtabmap_samples_loop"), {
      provider: "cpu",
      onWarning: () => {},
    });
    assert.equal(r.frames, 84);
    // The confidence ranks every hypothesis (recall at 100% precision over all of them)...
    const h = r.hypotheses.recallAt100Precision;
    assert.ok(h >= 0.9, `hypotheses recall@100%P ${h}`);
    // ...and without verification only the long consistent tracks are emitted: precision first.
    assert.ok(r.scores.precision >= 0.99, `precision ${r.scores.precision}`);
    assert.ok(r.scores.recall >= 0.5 && r.scores.recall < h, `recall ${r.scores.recall}`);
    const json = loopsReportJson(r);
    for (const k of ["precision", "recall", "recall_at_100p", "events", "latency_ms", "hypotheses"]) {
      assert.ok(k in json, k);
    }
  },
});

Deno.test({
  name:
    "evaluateLoops --verify on rtabmap_samples_loop: recall@100%P >= 0.95 and not below the unverified run",
  ...needsShared(),
  fn: async () => {
    const r = await evaluateLoops(sharedPath("data/rtabmap_samples_loop"), {
      provider: "cpu",
      verifier: createGeometricVerifier(),
      onWarning: () => {},
    });
    assert.ok(r.verifiedScores, "verified scores are reported");
    const v = r.verifiedScores!.recallAt100Precision, u = r.scores.recallAt100Precision;
    assert.ok(v >= 0.95, `verified recall@100%P ${v}`);
    assert.ok(v >= u, `verified ${v} >= unverified ${u}`);
    assert.ok(r.events.some((e) => (e.inliers ?? 0) >= 15), "events carry inlier counts");
    const json = loopsReportJson(r);
    assert.equal(json.verified, true);
    assert.equal(json.recall_at_100p, Math.round(v * 10000) / 10000);
    assert.ok(typeof (json.unverified as { recall_at_100p: number }).recall_at_100p === "number");
  },
});
