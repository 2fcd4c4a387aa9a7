import assert from "node:assert/strict";
import { DEFAULT_MIN_INLIERS, gateLoop, isUnverifiable, UNVERIFIABLE } from "../../src/localize/loop_gate.ts";
import { ValidationError } from "../../src/errors.ts";

Deno.test("gateLoop accepts a verified loop and raises its confidence with the inliers", () => {
  const few = gateLoop(0.5, { ok: true, inliers: 130, matches: 260, score: 130 });
  const many = gateLoop(0.5, { ok: true, inliers: 400, matches: 600, score: 400 });
  assert.ok(few.accept && few.verified && many.accept && many.verified);
  assert.ok(few.confidence > 0.5 && many.confidence > few.confidence && many.confidence < 1);
});

Deno.test("gateLoop drops a rejected or unanswered hypothesis and keeps an unverifiable one as is", () => {
  assert.equal(
    gateLoop(0.9, { ok: false, inliers: 5, matches: 60, score: 5, reason: "too few inliers" }).accept,
    false,
  );
  assert.equal(
    gateLoop(0.9, { ok: true, inliers: 10, matches: 60, score: 10 }, { minInliers: 15 }).accept,
    false,
  );
  assert.equal(gateLoop(0.9, undefined).accept, false);
  // The default (DEFAULT_MIN_INLIERS, 120) rejects what the old dense-grid default (15) let through.
  assert.equal(DEFAULT_MIN_INLIERS, 120);
  assert.equal(gateLoop(0.9, { ok: true, inliers: 100, matches: 300, score: 100 }).accept, false);
  assert.equal(gateLoop(0.9, { ok: true, inliers: 120, matches: 300, score: 120 }).accept, true);
  const blank = {
    ok: false,
    inliers: 0,
    matches: 0,
    score: 0,
    reason: `${UNVERIFIABLE} query has no keypoints`,
  };
  assert.ok(isUnverifiable(blank));
  assert.deepEqual(gateLoop(0.7, blank), { accept: true, verified: false, confidence: 0.7 });
  assert.throws(() => gateLoop(0.7, blank, { inlierScale: 0 }), ValidationError);
});
