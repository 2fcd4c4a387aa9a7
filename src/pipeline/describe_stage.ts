/**
 * Describe stage: the global descriptor (and, when verification wants them, the dense local features) of each
 * keyframe, from the injected `DescriptorModel`. A failure is an `ErrorEvent` on the frame.
 *
 * @module
 */
import { concatMap, of, type OperatorFunction } from "rxjs";
import type { DescriptorModel, DescriptorOutput } from "../types.ts";
import { afterStep, frameError, type FrameWork } from "./frame_work.ts";

/** Options of {@link describeStage}. */
export interface DescribeStageOptions {
  /** Also compute dense local features (for verification). Default false. */
  local?: boolean;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

/** The describe stage. */
export function describeStage(
  model: DescriptorModel,
  options: DescribeStageOptions = {},
): OperatorFunction<FrameWork, FrameWork> {
  const local = options.local ?? false;
  const now = options.now ?? (() => Date.now() / 1000);
  return concatMap((work: FrameWork) => {
    if (work.error || !work.keyframe || !work.pixels) return of(work);
    const pixels = work.pixels;
    return afterStep(work, () => {
      // A test double may answer synchronously; a real model returns a promise.
      const r = model.describe(pixels, { local }) as Promise<DescriptorOutput> | DescriptorOutput;
      if (r instanceof Promise) return r.then((d) => void (work.descriptor = d));
      work.descriptor = r;
      return undefined;
    }, (err) => void (work.error = frameError(err, work, now())));
  });
}
