/**
 * The fast path's output of a frame that left the stages: its error, or its estimate and loop closure, each
 * counted in the run's statistics (latency from frame in to estimate out).
 *
 * @module
 */
import type { WaymarkEvent } from "../types.ts";
import type { FrameWork } from "./frame_work.ts";
import type { PipelineStats } from "./pipeline_stats.ts";

/**
 * The events of a finished frame, in order, counted in `stats`: its `ErrorEvent` alone when it failed; else
 * its estimate (with the latency on `clock`) and its loop closure, when it has them. Without a map
 * (`withMap` false, SLAM: no estimates) the latency is frame in to frame out.
 */
export function frameEvents(
  work: FrameWork,
  stats: PipelineStats,
  clock: () => number,
  withMap: boolean,
): WaymarkEvent[] {
  if (work.error) {
    stats.addError(work.error);
    return [work.error];
  }
  stats.processed++;
  if (work.skipped) stats.skipped++;
  const events: WaymarkEvent[] = [];
  if (work.estimate) {
    const latencyMs = clock() - work.receivedAt;
    stats.addLatency(latencyMs);
    events.push({ kind: "estimate", estimate: work.estimate, hypotheses: work.hypotheses ?? [], latencyMs });
  } else if (!withMap) {
    stats.addLatency(clock() - work.receivedAt);
  }
  if (work.loop) events.push(work.loop);
  return events;
}
