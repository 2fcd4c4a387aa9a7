/**
 * Keyframe selection: decides which frames are described, searched and observed by the filter. A frame
 * becomes a keyframe when enough time passed, the camera moved enough (when positions are known), or the
 * image changed enough (mean absolute difference of a 16x12 thumbnail); with every threshold at 0 (the
 * default) every decoded frame is a keyframe. Non-keyframes still get an estimate (the last one, restamped).
 * A frame stamped before the last keyframe (time went backwards) is a keyframe.
 *
 * State (the last keyframe) is per subscription.
 *
 * @module
 */
import { defer, map, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { PixelImage } from "../types.ts";
import type { FrameWork } from "./frame_work.ts";

/** Options of {@link keyframeStage}. */
export interface KeyframeStageOptions {
  /** Minimum seconds between keyframes. Default 0. */
  minInterval?: number;
  /** Minimum metres moved since the last keyframe (frames with a position). Default 0. */
  minDistance?: number;
  /** Minimum mean absolute thumbnail difference in [0, 1] since the last keyframe. Default 0. */
  minChange?: number;
  /** Keyframe at least every this many seconds even without change. Default 1. */
  maxInterval?: number;
}

const TW = 16, TH = 12;

/** A 16x12 grey thumbnail by point sampling (cheap, allocation of 192 floats). */
export function thumbnail(p: PixelImage): Float32Array {
  const out = new Float32Array(TW * TH);
  const c = p.channels;
  for (let y = 0; y < TH; y++) {
    const sy = Math.min(p.height - 1, Math.floor(((y + 0.5) * p.height) / TH));
    for (let x = 0; x < TW; x++) {
      const sx = Math.min(p.width - 1, Math.floor(((x + 0.5) * p.width) / TW));
      const o = (sy * p.width + sx) * c;
      out[y * TW + x] = (c === 1 ? p.data[o] : (p.data[o] + p.data[o + 1] + p.data[o + 2]) / 3) / 255;
    }
  }
  return out;
}

/** The keyframe selection stage. */
export function keyframeStage(options: KeyframeStageOptions = {}): OperatorFunction<FrameWork, FrameWork> {
  const a = "select keyframes";
  const minInterval = options.minInterval ?? 0;
  const minDistance = options.minDistance ?? 0;
  const minChange = options.minChange ?? 0;
  const maxInterval = options.maxInterval ?? 1;
  for (
    const [f, v] of [["minInterval", minInterval], ["minDistance", minDistance], ["minChange", minChange], [
      "maxInterval",
      maxInterval,
    ]] as const
  ) {
    if (typeof v !== "number" || !(v >= 0)) throw invalid(a, f, "a number >= 0", v);
  }
  const everyFrame = minInterval === 0 && minDistance === 0 && minChange === 0;
  return (source) =>
    defer(() => {
      let count = 0;
      let last: { stamp: number; position?: { x: number; y: number }; thumb?: Float32Array } | null = null;
      return source.pipe(map((work) => {
        if (work.error || !work.pixels) return work;
        const f = work.frame;
        let take = everyFrame || last === null;
        let thumb: Float32Array | undefined;
        if (!take && last) {
          const dt = f.stamp - last.stamp;
          // Time went backwards (a replay restarted, a clock reset): start afresh from this frame.
          if (dt >= maxInterval || dt < 0 || !Number.isFinite(dt)) take = true;
          else if (dt >= minInterval) {
            let moved = minDistance === 0;
            if (!moved && f.position && last.position) {
              moved =
                Math.hypot(f.position.x - last.position.x, f.position.y - last.position.y) >= minDistance;
            }
            let changed = minChange === 0;
            if (!changed && last.thumb) {
              thumb = thumbnail(work.pixels);
              let d = 0;
              for (let i = 0; i < thumb.length; i++) d += Math.abs(thumb[i] - last.thumb[i]);
              changed = d / thumb.length >= minChange;
            }
            take = moved && changed;
          }
        }
        work.keyframe = take;
        if (take) {
          work.keyframeIndex = count++;
          last = {
            stamp: f.stamp,
            position: f.position,
            thumb: minChange > 0 ? (thumb ?? thumbnail(work.pixels)) : undefined,
          };
        }
        return work;
      }));
    });
}
