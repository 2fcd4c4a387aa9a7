/**
 * Per-frame profiling of the pipeline (`LocalizerOptions.onTiming`) and the attribution of a frame's error to
 * the stage that set it: the operators that go before the first stage and after each stage, the chain of the
 * named stages, and the report of a frame that left the pipeline.
 *
 * @module
 */
import { map, type MonoTypeOperatorFunction, type Observable, type OperatorFunction, pipe } from "rxjs";
import type { FrameWork } from "./frame_work.ts";

/** Where one frame's time went (see `LocalizerOptions.onTiming`); milliseconds on the pipeline's clock. */
export interface FrameTiming {
  seq: number;
  /** The frame was a keyframe (described, searched, observed). */
  keyframe: boolean;
  /** From arrival to admission by the backpressure gate (waiting for the frame before it). */
  waitMs: number;
  /**
   * Time in each stage, by stage name (`decode`, `keyframe`, `describe`, `search`, `filter`, `loop`): from
   * leaving the previous stage to leaving this one (with two frames in flight this includes waiting for the
   * frame ahead to leave the stage).
   */
  stages: Record<string, number>;
  /** From arrival to the end of the last stage. */
  totalMs: number;
}

/** Start a frame's timing at its admission (only when `timed`). */
export function startTiming(clock: () => number, timed: boolean): OperatorFunction<FrameWork, FrameWork> {
  return map((work) => {
    if (timed) {
      const t = clock();
      work.timing = { admittedAt: t, last: t, stages: {} };
    }
    return work;
  });
}

/**
 * After stage `name`: a frame's error without a cause is counted under this stage's name (the stage that set
 * it), and with timing the time since the previous stage is recorded under the name.
 */
export function afterStage(
  name: string,
  clock: () => number,
  timed: boolean,
): OperatorFunction<FrameWork, FrameWork> {
  return map((work) => {
    if (work.error && work.error.cause === undefined) work.error.cause = name;
    if (timed && work.timing) {
      const t = clock();
      work.timing.stages[name] = t - work.timing.last;
      work.timing.last = t;
    }
    return work;
  });
}

/** Named stages run in order, each followed by its {@link afterStage}: one operator. */
export function chainStages(
  stages: [string, MonoTypeOperatorFunction<FrameWork>][],
  clock: () => number,
  timed: boolean,
): MonoTypeOperatorFunction<FrameWork> {
  return stages.reduce(
    (acc, [name, stage]) => pipe(acc, stage, afterStage(name, clock, timed)),
    (x: Observable<FrameWork>) => x,
  );
}

/** Report a frame's timing to `onTiming` (a profiler's failure never breaks the pipeline). */
export function reportTiming(work: FrameWork, onTiming: ((timing: FrameTiming) => void) | undefined): void {
  if (!onTiming || !work.timing) return;
  try {
    onTiming({
      seq: work.frame.seq,
      keyframe: !!work.keyframe,
      waitMs: work.timing.admittedAt - work.receivedAt,
      stages: work.timing.stages,
      totalMs: work.timing.last - work.receivedAt,
    });
  } catch { /* a profiler's failure never breaks the pipeline */ }
}
