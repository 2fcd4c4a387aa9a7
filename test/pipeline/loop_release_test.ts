import assert from "node:assert/strict";
import { firstValueFrom, of, toArray } from "rxjs";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { LoopRelease, screenLoops } from "../../src/pipeline/loop_release.ts";
import type { VerificationEvent } from "../../src/types.ts";
import { codeFrame, loopEvent as loop } from "./_fakes.ts";

function work(seq: number, opts: Partial<FrameWork> = {}): FrameWork {
  return { frame: codeFrame(seq, 0), receivedAt: 0, keyframeIndex: seq, ...opts };
}

function localized(seq: number, placeId: number): FrameWork["estimate"] {
  return { stamp: seq, seq, placeId, confidence: 0.9, status: "localized" };
}

const places = Array.from({ length: 50 }, (_, i) => ({ placeId: 100 + i }));

Deno.test("loop release: the gap counts from the last loop emitted", () => {
  const r = new LoopRelease({ gap: 3, agreement: 0 });
  const kept = [0, 1, 2, 3, 4, 7].filter((i) => {
    const w = work(i, { loop: loop(i, 1) });
    r.screen(w);
    return w.loop !== undefined;
  });
  assert.deepEqual(kept, [0, 3, 7]);
  // A pending hypothesis within the gap is dropped too, but does not start the gap.
  const w = work(8, { loopPending: loop(8, 1) });
  r.screen(w);
  assert.equal(w.loopPending, undefined);
});

Deno.test("loop release: unverified loops below the operating point are not emitted", () => {
  const r = new LoopRelease({ gap: 0, agreement: 0, gate: { unverifiedMinConfidence: 0.5 } });
  const low = work(0, { loop: loop(0, 1, 0.4) }), high = work(1, { loop: loop(1, 1, 0.6) });
  r.screen(low);
  r.screen(high);
  assert.equal(low.loop, undefined);
  assert.ok(high.loop);
});

Deno.test("loop release: with a map a loop must agree with the localized estimate (places in order)", () => {
  const r = new LoopRelease({ places, gap: 0, agreement: 5 });
  const near = work(0, { estimate: localized(0, 110), loop: loop(0, 114) });
  const far = work(1, { estimate: localized(1, 110), loop: loop(1, 130) });
  const unsure = work(2, { estimate: { ...localized(2, 110)!, status: "uncertain" }, loop: loop(2, 130) });
  for (const w of [near, far, unsure]) r.screen(w);
  assert.ok(near.loop);
  assert.equal(far.loop, undefined);
  assert.ok(unsure.loop);
  // A session keyframe's match is placed where that keyframe was localized.
  r.screen(work(3, { sessionPlaceId: 9000, estimate: localized(3, 140) }));
  const viaSession = work(4, { estimate: localized(4, 110), loopPending: loop(4, 9000) });
  r.screen(viaSession);
  assert.equal(viaSession.loopPending, undefined);
  assert.equal(r.isMapPlace(110), true);
  assert.equal(r.isMapPlace(9000), false);
});

Deno.test("loop release: positions in metres decide agreement when both places have them", () => {
  const r = new LoopRelease({
    places: [{ placeId: 1, position: { x: 0, y: 0 } }, { placeId: 2, position: { x: 3, y: 4 } }, {
      placeId: 3,
      position: { x: 30, y: 40 },
    }],
    gap: 0,
    agreement: 5,
  });
  const ok = work(0, { estimate: localized(0, 1), loop: loop(0, 2) });
  const no = work(1, { estimate: localized(1, 1), loop: loop(1, 3) });
  r.screen(ok);
  r.screen(no);
  assert.ok(ok.loop);
  assert.equal(no.loop, undefined);
});

function verified(seq: number, placeId: number, ok: boolean, inliers = 400): VerificationEvent {
  return {
    kind: "verification",
    seq,
    stamp: seq,
    results: [{ placeId, result: { ok, inliers, matches: inliers, score: 1 } }],
  };
}

Deno.test("loop release: a held loop is emitted when verification confirms it, with inliers; never twice", () => {
  const r = new LoopRelease({ gap: 2, agreement: 0 });
  r.hold(5, loop(5, 1, 0.9), 5);
  r.hold(6, loop(6, 1, 0.9), 6);
  r.hold(7, loop(7, 2, 0.9), 7);
  assert.equal(r.settle(verified(4, 1, true)), undefined); // nothing held for frame 4
  const first = r.settle(verified(5, 1, true));
  assert.equal(first?.inliers, 400);
  assert.ok(first!.confidence > 0.9);
  assert.equal(r.settle(verified(5, 1, true)), undefined);
  assert.equal(r.settle(verified(6, 1, true)), undefined, "within the gap of the loop just emitted");
  assert.equal(r.settle(verified(7, 2, false)), undefined, "verification failed");
  r.hold(9, loop(9, 1, 0.9), 9);
  r.drop(9);
  assert.equal(r.settle(verified(9, 1, true)), undefined);
  r.hold(10, loop(10, 1, 0.9), 10);
  r.clear();
  assert.equal(r.settle(verified(10, 1, true)), undefined);
});

Deno.test("screenLoops screens every frame that did not fail", async () => {
  const r = new LoopRelease({ gap: 5, agreement: 0 });
  const failed = work(0, {
    loop: loop(0, 1),
    error: { kind: "error", stamp: 0, error: "Error", message: "x", seq: 0 },
  });
  const out = await firstValueFrom(of(failed, work(1, { loop: loop(1, 1) })).pipe(screenLoops(r), toArray()));
  assert.ok(out[0].loop, "a failed frame passes untouched (and does not start the gap)");
  assert.ok(out[1].loop);
});
