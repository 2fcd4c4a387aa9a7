/**
 * What the pipeline lets out of the loop stage: a loop hypothesis becomes an event only when it agrees with the
 * frame's estimate (with a map), passes the operating point of unverified loops, is at least `gap` keyframes
 * after the last loop emitted and, with a verifier, once verification confirms it (`hold`, then `settle`).
 *
 * @module
 */
import { map, type MonoTypeOperatorFunction } from "rxjs";
import { acceptUnverified, gateLoop, type LoopGateOptions } from "../localize/loop_gate.ts";
import type { LoopClosureEvent, Position, VerificationEvent } from "../types.ts";
import type { FrameWork } from "./frame_work.ts";

/** Options of {@link LoopRelease}. */
export interface LoopReleaseOptions {
  /** The prior map's places in traversal order; absent: SLAM (no agreement check). */
  places?: readonly { placeId: number; position?: Position }[];
  /** Fewest keyframes between two loop events. */
  gap: number;
  /**
   * With a map: largest distance between the loop's matched place and the frame's localized place (metres when
   * both have positions, else places in traversal order); 0 disables.
   */
  agreement: number;
  /** Operating point of loop events (`src/localize/loop_gate.ts`). */
  gate?: LoopGateOptions;
}

/** Session place ids of run keyframes whose localized place is remembered (the newest only). */
const LOCALIZED_AT_CAP = 4096;

/** The loop gate of one run (state: the last loop emitted, the loops waiting for verification). */
export class LoopRelease {
  #lastKeyframe = -Infinity;
  #pending = new Map<number, { loop: LoopClosureEvent; keyframe: number }>();
  /** Session place id of a run keyframe -> the map place where it was localized. */
  #localizedAt = new Map<number, number>();
  #mapPlaces: Set<number>;
  #placeMeta: Map<number, { order: number; position?: Position }>;

  constructor(readonly options: LoopReleaseOptions) {
    this.#mapPlaces = new Set(options.places?.map((p) => p.placeId));
    this.#placeMeta = new Map(options.places?.map((p, i) => [p.placeId, { order: i, position: p.position }]));
  }

  /** `placeId` is a place of the prior map (not a keyframe of this run). */
  isMapPlace(placeId: number): boolean {
    return this.#mapPlaces.has(placeId);
  }

  /**
   * Screen a completed frame's loop hypotheses in place: `work.loop` (an event now) and `work.loopPending`
   * (waiting for verification) are deleted when they contradict the estimate or come within the gap; an
   * emitted `work.loop` starts the gap.
   */
  screen(work: FrameWork): void {
    if (
      work.sessionPlaceId !== undefined && work.estimate?.status === "localized" &&
      work.estimate.placeId != null
    ) {
      this.#localizedAt.set(work.sessionPlaceId, work.estimate.placeId);
      // Bounded: only the newest entries matter (older session keyframes are thinned out anyway).
      if (this.#localizedAt.size > LOCALIZED_AT_CAP) {
        this.#localizedAt.delete(this.#localizedAt.keys().next().value!);
      }
    }
    if (work.loop && !this.#agrees(work.loop, work)) delete work.loop;
    if (work.loop && !acceptUnverified(work.loop.confidence, this.options.gate)) delete work.loop;
    if (work.loopPending && !this.#agrees(work.loopPending, work)) delete work.loopPending;
    if (work.loop) {
      const kf = work.keyframeIndex ?? 0;
      if (kf - this.#lastKeyframe < this.options.gap) delete work.loop;
      else this.#lastKeyframe = kf;
    }
    if (work.loopPending && (work.keyframeIndex ?? 0) - this.#lastKeyframe < this.options.gap) {
      delete work.loopPending;
    }
  }

  /** Keep frame `seq`'s pending loop (keyframe ordinal `keyframe`) until its verification settles. */
  hold(seq: number, loop: LoopClosureEvent, keyframe: number): void {
    this.#pending.set(seq, { loop, keyframe });
  }

  /** Forget frame `seq`'s pending loop (its verification failed or was dropped). */
  drop(seq: number): void {
    this.#pending.delete(seq);
  }

  /** The loop event that verification `ev` confirms, if any (the gap counts only loops actually emitted). */
  settle(ev: VerificationEvent): LoopClosureEvent | undefined {
    const pending = this.#pending.get(ev.seq);
    if (!pending) return undefined;
    this.#pending.delete(ev.seq);
    const { loop: hyp, keyframe } = pending;
    const r = ev.results.find((x) => x.placeId === hyp.match.placeId)?.result;
    const gate = gateLoop(hyp.confidence, r, this.options.gate);
    if (!gate.accept || keyframe - this.#lastKeyframe < this.options.gap) return undefined;
    this.#lastKeyframe = keyframe;
    const loop: LoopClosureEvent = { ...hyp, confidence: gate.confidence };
    if (gate.verified && r) {
      loop.inliers = r.inliers;
      if (r.transform) loop.transform = r.transform;
    }
    return loop;
  }

  /** Drop every pending loop. */
  clear(): void {
    this.#pending.clear();
  }

  /** False when a loop contradicts the frame's localized estimate (see `agreement`). */
  #agrees(loop: LoopClosureEvent, work: FrameWork): boolean {
    const est = work.estimate, agreement = this.options.agreement;
    if (!this.options.places || agreement === 0 || est?.status !== "localized" || est.placeId == null) {
      return true;
    }
    const matched = this.#mapPlaces.has(loop.match.placeId)
      ? loop.match.placeId
      : this.#localizedAt.get(loop.match.placeId);
    const a = this.#placeMeta.get(est.placeId),
      b = matched === undefined ? undefined : this.#placeMeta.get(matched);
    if (!a || !b) return true;
    if (a.position && b.position) {
      return Math.hypot(a.position.x - b.position.x, a.position.y - b.position.y) <= agreement;
    }
    return Math.abs(a.order - b.order) <= agreement;
  }
}

/** The operator form of {@link LoopRelease.screen}: screens every frame that did not fail. */
export function screenLoops(release: LoopRelease): MonoTypeOperatorFunction<FrameWork> {
  return map((work) => {
    if (!work.error) release.screen(work);
    return work;
  });
}
