/**
 * A lossless driver of pipeline stages for offline replay (evaluation): push one frame envelope, await the
 * envelope the stages emit for it. One subscription for the whole run, so stage state (filter, detector) lives
 * across frames; nothing is dropped because the caller waits for each frame before pushing the next.
 *
 * @module
 */
import { type OperatorFunction, Subject, type Subscription } from "rxjs";
import type { FrameWork } from "./frame_work.ts";

/** Push-and-await access to a chain of stages. */
export interface StageRunner {
  /** Send one envelope through the stages; resolves with the envelope they emit for it. */
  push(work: FrameWork): Promise<FrameWork>;
  /** Complete the input and release the stages' state. */
  close(): void;
}

/**
 * Run `stages` (each emits exactly one envelope per input, in order) one envelope at a time.
 *
 * @example
 * ```ts ignore
 * const runner = createStageRunner(pipe(decodeStage(), keyframeStage(), describeStage(model)));
 * const done = await runner.push({ frame, receivedAt: performance.now() });
 * runner.close();
 * ```
 */
export function createStageRunner(stages: OperatorFunction<FrameWork, FrameWork>): StageRunner {
  const input = new Subject<FrameWork>();
  const waiting: { resolve: (w: FrameWork) => void; reject: (e: unknown) => void }[] = [];
  let failure: unknown = null;
  const sub: Subscription = input.pipe(stages).subscribe({
    next: (w) => waiting.shift()?.resolve(w),
    error: (e) => {
      failure = e;
      for (const p of waiting.splice(0)) p.reject(e);
    },
  });
  return {
    push(work) {
      if (failure) return Promise.reject(failure);
      return new Promise<FrameWork>((resolve, reject) => {
        waiting.push({ resolve, reject });
        input.next(work);
      });
    },
    close() {
      input.complete();
      sub.unsubscribe();
    },
  };
}
