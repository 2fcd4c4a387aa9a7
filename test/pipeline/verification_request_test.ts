import assert from "node:assert/strict";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { verificationRequest } from "../../src/pipeline/verification_request.ts";
import type { LoopClosureEvent } from "../../src/types.ts";
import { codeFrame } from "./_fakes.ts";

const pixels = { width: 1, height: 1, channels: 1 as const, data: new Uint8Array(1) };
const context = {
  topK: 2,
  placeImage: (id: number) => (id === 1 ? "one.png" : undefined),
  isMapPlace: (id: number) => id < 100,
};

function pending(matchId: number, image?: string): LoopClosureEvent {
  return {
    kind: "loop",
    query: { seq: 7, stamp: 0.7 },
    match: image === undefined ? { placeId: matchId } : { placeId: matchId, image },
    stamps: [0.7, 0],
    score: 0.8,
    confidence: 0.9,
  };
}

function work(extra: Partial<FrameWork>): FrameWork {
  return {
    frame: { ...codeFrame(7, 0), source: "cam/7" },
    receivedAt: 0,
    keyframe: true,
    pixels,
    hypotheses: [1, 2, 3].map((placeId, rank) => ({ placeId, similarity: 1 - placeId / 10, rank })),
    ...extra,
  };
}

Deno.test("verification request: the query, the top map places, then a pending loop's match", () => {
  const req = verificationRequest(
    work({ sessionPlaceId: 500, loopPending: pending(400, "kf.png") }),
    context,
  )!;
  assert.deepEqual(req.query, { seq: 7, stamp: 0.7, pixels, placeId: 500, image: "cam/7" });
  assert.deepEqual(req.candidates, [
    { placeId: 1, space: "map", similarity: 0.9, image: "one.png" },
    { placeId: 2, space: "map", similarity: 0.8 },
    { placeId: 400, space: "session", similarity: 0.8, image: "kf.png" },
  ]);
});

Deno.test("verification request: a loop matching a listed map place is not listed twice", () => {
  const req = verificationRequest(work({ loopPending: pending(2) }), context)!;
  assert.deepEqual(req.candidates.map((c) => c.placeId), [1, 2]);
  const map = verificationRequest(work({ hypotheses: [], loopPending: pending(50) }), context)!;
  assert.deepEqual(map.candidates, [{ placeId: 50, space: "map", similarity: 0.8 }]);
});

Deno.test("verification request: none without pixels, no candidates without hypotheses or loop", () => {
  assert.equal(verificationRequest(work({ pixels: undefined }), context), undefined);
  assert.deepEqual(verificationRequest(work({ hypotheses: undefined }), context)!.candidates, []);
});
