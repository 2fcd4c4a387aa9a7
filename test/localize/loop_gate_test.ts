import assert from "node:assert/strict";
import {
  acceptUnverified,
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_UNVERIFIED_MIN_CONFIDENCE,
  gateLoop,
  isUnverifiable,
  UNVERIFIABLE,
} from "../../src/localize/loop_gate.ts";
import { ValidationError } from "../../src/errors.ts";

Deno.test("gateLoop raises a verified loop's confidence with the inliers and emits it at minConfidence", () => {
  const few = gateLoop(0.5, { ok: true, inliers: 130, matches: 260, score: 130 });
  const many = gateLoop(0.5, { ok: true, inliers: 400, matches: 600, score: 400 });
  assert.ok(few.verified && many.verified && many.accept);
  assert.ok(few.confidence > 0.5 && many.confidence > few.confidence && many.confidence < 1);
  // A look-alike with a fair number of inliers on a weak track stays below the operating point.
  const weak = gateLoop(0.15, { ok: true, inliers: 140, matches: 240, score: 140 });
  assert.ok(weak.verified && weak.confidence < DEFAULT_MIN_CONFIDENCE && !weak.accept);
  assert.ok(
    gateLoop(0.15, { ok: true, inliers: 140, matches: 240, score: 140 }, { minConfidence: 0.5 }).accept,
  );
});

Deno.test("gateLoop drops a rejected, unanswered or (by default) unverifiable hypothesis", () => {
  assert.equal(
    gateLoop(0.9, { ok: false, inliers: 5, matches: 60, score: 5, reason: "too few inliers" }).accept,
    false,
  );
  assert.equal(
    gateLoop(0.9, { ok: true, inliers: 10, matches: 60, score: 10 }, { minInliers: 15 }).accept,
    false,
  );
  assert.equal(gateLoop(0.9, undefined).accept, false);
  // The inlier count is the verifier's test (`ok`); the gate adds none of its own by default.
  assert.equal(gateLoop(0.9, { ok: true, inliers: 100, matches: 300, score: 100 }).accept, true);
  assert.equal(gateLoop(0.9, { ok: false, inliers: 100, matches: 300, score: 100 }).accept, false);
  const blank = {
    ok: false,
    inliers: 0,
    matches: 0,
    score: 0,
    reason: `${UNVERIFIABLE} query has no keypoints`,
  };
  assert.ok(isUnverifiable(blank));
  // Unverifiable: not emitted by default; kept on the detector's word (at its unverified threshold) on request.
  assert.deepEqual(gateLoop(0.7, blank), { accept: false, verified: false, confidence: 0.7 });
  assert.deepEqual(gateLoop(0.7, blank, { keepUnverifiable: true }), {
    accept: true,
    verified: false,
    confidence: 0.7,
  });
  assert.equal(gateLoop(0.2, blank, { keepUnverifiable: true }).accept, false);
  assert.throws(() => gateLoop(0.7, blank, { inlierScale: 0 }), ValidationError);
  assert.throws(() => gateLoop(0.7, blank, { minConfidence: 2 }), ValidationError);
});

Deno.test("acceptUnverified: a loop with no geometric check needs the higher detector confidence", () => {
  assert.equal(acceptUnverified(DEFAULT_UNVERIFIED_MIN_CONFIDENCE), true);
  assert.equal(acceptUnverified(DEFAULT_UNVERIFIED_MIN_CONFIDENCE - 0.01), false);
  assert.equal(acceptUnverified(0.1, { unverifiedMinConfidence: 0 }), true);
  assert.throws(() => acceptUnverified(0.5, { unverifiedMinConfidence: -1 }), ValidationError);
});
