import assert from "node:assert/strict";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { LoopRelease } from "../../src/pipeline/loop_release.ts";
import type {
  VerificationCandidate,
  VerificationQuery,
  Verifier,
} from "../../src/pipeline/verification_hook.ts";
import { VerificationPath } from "../../src/pipeline/verification_path.ts";
import type { LoopClosureEvent, VerificationEvent, WaymarkEvent } from "../../src/types.ts";
import { codeFrame, loopEvent } from "./_fakes.ts";

const pixels = { width: 1, height: 1, channels: 1 as const, data: new Uint8Array(1) };

function keyframe(seq: number, opts: Partial<FrameWork> = {}): FrameWork {
  return {
    frame: codeFrame(seq, 0),
    receivedAt: 0,
    keyframe: true,
    keyframeIndex: seq,
    pixels,
    hypotheses: [{ placeId: 7, similarity: 0.8, rank: 0 }, { placeId: 8, similarity: 0.7, rank: 1 }],
    ...opts,
  };
}

/** A verifier whose calls are settled by hand; `remember` calls are logged. */
function manualVerifier() {
  const calls: {
    query: VerificationQuery;
    candidates: VerificationCandidate[];
    pass: (placeId: number, inliers: number) => void;
    fail: (e: Error) => void;
  }[] = [];
  const remembered: number[] = [];
  const verifier: Verifier = {
    verify: (query, candidates) =>
      new Promise<VerificationEvent>((resolve, reject) =>
        calls.push({
          query,
          candidates,
          pass: (placeId, inliers) =>
            resolve({
              kind: "verification",
              seq: query.seq,
              stamp: query.stamp,
              results: [{ placeId, result: { ok: true, inliers, matches: inliers, score: 1 } }],
            }),
          fail: reject,
        })
      ),
    remember: (kf) => void remembered.push(kf.placeId),
  };
  return { verifier, calls, remembered };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function path(verifier: Verifier | undefined, out: WaymarkEvent[], idle: { n: number }) {
  return new VerificationPath({
    verifier,
    loops: new LoopRelease({ gap: 0, agreement: 0 }),
    topK: 1,
    places: [{ placeId: 7, image: "p7.jpg" }],
    now: () => 42,
    emit: (e) => out.push(e),
    fail: (e) => out.push(e),
    onIdle: () => idle.n++,
  });
}

Deno.test("verification path: a keyframe's top-k and pending loop are verified; the result releases the loop", async () => {
  const { verifier, calls, remembered } = manualVerifier();
  const out: WaymarkEvent[] = [];
  const idle = { n: 0 };
  const p = path(verifier, out, idle);
  const results: VerificationEvent[] = [];
  p.results$.subscribe((e) => results.push(e));
  p.submit(keyframe(3, { sessionPlaceId: 12, loopPending: loopEvent(3, 1, 0.5) }));
  assert.equal(p.idle, false);
  assert.deepEqual(remembered, [12]);
  assert.deepEqual(calls[0].candidates.map((c) => [c.placeId, c.space, c.image]), [
    [7, "map", "p7.jpg"],
    [1, "session", undefined],
  ]);
  calls[0].pass(1, 500);
  await tick();
  assert.deepEqual(out.map((e) => e.kind), ["verification", "loop"]);
  assert.equal((out[1] as LoopClosureEvent).inliers, 500);
  assert.equal(results.length, 1, "the result is fed back to the filter");
  assert.equal(p.idle, true);
  assert.equal(idle.n, 1);
});

Deno.test("verification path: a failure is an error event; non-keyframes, errors and no verifier are not verified", async () => {
  const { verifier, calls } = manualVerifier();
  const out: WaymarkEvent[] = [];
  const p = path(verifier, out, { n: 0 });
  p.submit(keyframe(1, { keyframe: false }));
  p.submit(keyframe(2, { error: { kind: "error", stamp: 0, error: "Error", message: "x", seq: 2 } }));
  p.submit(keyframe(3, { pixels: undefined }));
  p.submit(keyframe(4, { hypotheses: [] }));
  assert.equal(calls.length, 0);
  p.submit(keyframe(5, { loopPending: loopEvent(5, 1, 0.5) }));
  calls[0].fail(new Error("boom"));
  await tick();
  assert.equal(out.length, 1);
  assert.equal(out[0].kind, "error");
  assert.match((out[0] as { message: string }).message, /verification of frame 5 failed: boom/);
  assert.equal(out[0].kind === "error" && out[0].stamp, 42);

  const none = path(undefined, out, { n: 0 });
  none.submit(keyframe(6));
  assert.equal(none.idle, true);
  none.close();
});

Deno.test("verification path: once closed, a running verification's outcome is ignored and results$ completes", async () => {
  const { verifier, calls } = manualVerifier();
  const out: WaymarkEvent[] = [];
  const p = path(verifier, out, { n: 0 });
  let completed = false;
  p.results$.subscribe({ complete: () => (completed = true) });
  p.submit(keyframe(1));
  p.close();
  calls[0].pass(7, 500);
  await tick();
  assert.equal(out.length, 0);
  assert.equal(completed, true);
});
