/**
 * The envelope that travels through the pipeline's stages: one per admitted frame, filled in stage by stage.
 * Every stage emits exactly one envelope per envelope it receives (a failed or skipped frame is marked, not
 * dropped), which is what lets the backpressure gate count frames in flight.
 *
 * @module
 */
import { type ObservableInput, of } from "rxjs";
import type {
  CameraFrame,
  DescriptorOutput,
  ErrorEvent,
  LocationEstimate,
  LoopClosureEvent,
  PixelImage,
  PlaceHypothesis,
} from "../types.ts";
import type { SkipReason } from "./frame_checks.ts";

/** Work in progress on one frame. */
export interface FrameWork {
  frame: CameraFrame;
  /** When the frame entered the pipeline (ms on the pipeline's scheduler clock). */
  receivedAt: number;
  /** Decoded pixels (decode stage). */
  pixels?: PixelImage;
  /**
   * The frame holds nothing to localize on (decode stage, `frame_checks.ts`): no pixels, never a keyframe; the
   * filter stage reports it `lost` with this reason.
   */
  skipped?: SkipReason;
  /** Chosen as keyframe (keyframe stage); only keyframes are described, searched and observed. */
  keyframe?: boolean;
  /** Ordinal of this keyframe in the run (0-based). */
  keyframeIndex?: number;
  /** Global (and optionally local) descriptor (describe stage). */
  descriptor?: DescriptorOutput;
  /** Top-k places of the map (search stage). */
  hypotheses?: PlaceHypothesis[];
  /** Similarity background of this frame against the whole map (search stage). */
  background?: { mean: number; std: number };
  /**
   * Similarity to every map place, in the map's place order (search stage, when it compares the keyframe
   * with the whole map: see `SearchStageOptions.fullScan`). The filter then observes every place.
   */
  similarities?: Float32Array;
  /** Smoothed estimate (filter stage). */
  estimate?: LocationEstimate;
  /** Place id of this keyframe in the session map (loop stage). */
  sessionPlaceId?: number;
  /** Loop-closure hypothesis (loop stage): an event when no verification is pending. */
  loop?: LoopClosureEvent;
  /** Loop hypothesis waiting for geometric verification. */
  loopPending?: LoopClosureEvent;
  /** What went wrong with this frame; later stages pass it through untouched. */
  error?: ErrorEvent;
  /** Per-stage timing, only when the pipeline was asked for it (`onTiming`). */
  timing?: { admittedAt: number; last: number; stages: Record<string, number> };
}

/** Build the ErrorEvent of a failed frame. */
export function frameError(err: unknown, work: FrameWork, stampSeconds: number): ErrorEvent {
  const e = err instanceof Error ? err : new Error(String(err));
  const event: ErrorEvent = {
    kind: "error",
    stamp: stampSeconds,
    error: e.name || "Error",
    message: e.message,
    seq: work.frame.seq,
  };
  if (work.frame.source !== undefined) event.source = work.frame.source;
  return event;
}

/**
 * Emit `work` after `fn` ran: asynchronously when `fn` returns a promise, synchronously otherwise (so that
 * stages driven by synchronous test doubles run in virtual time under `TestScheduler`).
 */
export function afterStep(
  work: FrameWork,
  fn: () => unknown,
  onError: (err: unknown) => void,
): ObservableInput<FrameWork> {
  let r: unknown;
  try {
    r = fn();
  } catch (err) {
    onError(err);
    return of(work);
  }
  if (r && typeof (r as PromiseLike<unknown>).then === "function") {
    return (r as Promise<unknown>).then(() => work, (err) => {
      onError(err);
      return work;
    });
  }
  return of(work);
}
