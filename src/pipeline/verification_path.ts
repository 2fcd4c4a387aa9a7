/**
 * Geometric verification beside the fast path: each keyframe that leaves the stages is offered to the
 * verifier (its session place remembered, its pending loop held by the loop release), one request at a time
 * and latest-wins ({@link VerificationRunner}); each result is emitted, fed back to the place filter
 * (`results$`), and settles the loop it held; a failure is an error event and drops that loop.
 *
 * @module
 */
import { type Observable, Subject } from "rxjs";
import type { ErrorEvent, LoopClosureEvent, VerificationEvent } from "../types.ts";
import type { FrameWork } from "./frame_work.ts";
import type { LoopRelease } from "./loop_release.ts";
import type { Verifier } from "./verification_hook.ts";
import { verificationRequest } from "./verification_request.ts";
import { verificationFailure, VerificationRunner } from "./verification_runner.ts";

/** Options of a {@link VerificationPath}. */
export interface VerificationPathOptions {
  /** The verifier; absent: nothing is verified (`results$` never emits). */
  verifier?: Verifier;
  /** The run's loop release: holds a keyframe's pending loop until its verification settles it. */
  loops: LoopRelease;
  /** Map candidates verified per keyframe. */
  topK: number;
  /** The map's places (their images name the candidates). */
  places?: readonly { placeId: number; image?: string }[];
  /** Event stamps (seconds). */
  now: () => number;
  /** A verification result, and the loop closure it released. */
  emit: (event: VerificationEvent | LoopClosureEvent) => void;
  /** A verification that failed (cause `verification`). */
  fail: (event: ErrorEvent) => void;
  /** Nothing runs and nothing waits any more. */
  onIdle: () => void;
}

/** The verification side of one run (see the module doc). */
export class VerificationPath {
  readonly #results = new Subject<VerificationEvent>();
  readonly #runner: VerificationRunner;
  readonly #placeImage: Map<number, string | undefined>;

  constructor(readonly options: VerificationPathOptions) {
    const { loops } = options;
    this.#placeImage = new Map(options.places?.map((p) => [p.placeId, p.image]));
    this.#runner = new VerificationRunner({
      verify: (req) => options.verifier!.verify(req.query, req.candidates),
      onResult: (ev) => {
        options.emit(ev);
        this.#results.next(ev);
        const loop = loops.settle(ev);
        if (loop) options.emit(loop);
      },
      onError: (err, req) => {
        loops.drop(req.query.seq);
        options.fail(verificationFailure(err, req.query.seq, options.now()));
      },
      onDiscard: (req) => loops.drop(req.query.seq),
      onIdle: options.onIdle,
    });
  }

  /** The verification results, for the place filter. */
  get results$(): Observable<VerificationEvent> {
    return this.#results.asObservable();
  }

  /** Nothing running and nothing waiting. */
  get idle(): boolean {
    return this.#runner.idle;
  }

  /**
   * Offer a frame that left the stages: a keyframe with pixels is remembered by the verifier (never awaited,
   * never breaking the fast path), its pending loop is held, and its candidates, if any, are submitted.
   */
  submit(work: FrameWork): void {
    const v = this.options.verifier;
    if (!v || work.error || !work.keyframe) return;
    const request = verificationRequest(work, {
      topK: this.options.topK,
      placeImage: (id) => this.#placeImage.get(id),
      isMapPlace: (id) => this.options.loops.isMapPlace(id),
    });
    if (!request) return;
    if (v.remember && work.sessionPlaceId !== undefined) {
      try {
        Promise.resolve(v.remember({ ...request.query, placeId: work.sessionPlaceId })).catch(() => {});
      } catch { /* a verifier's bookkeeping never breaks the fast path */ }
    }
    const pl = work.loopPending;
    if (pl) this.options.loops.hold(work.frame.seq, pl, work.keyframeIndex ?? 0);
    if (request.candidates.length > 0) this.#runner.submit(request);
  }

  /** Stop: waiting and running requests are dropped, `results$` completes. */
  close(): void {
    this.#results.complete();
    this.#runner.close();
  }
}
