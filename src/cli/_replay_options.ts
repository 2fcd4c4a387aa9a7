/**
 * `--rate` and `--backpressure` of the streaming commands (`localize`, `slam`): the source options a rate
 * selects, the policy (`--rate max` queues every frame unless a policy is given, so that an offline replay
 * drops nothing), and a line announcing the replay rate.
 * @module
 */
import { invalid } from "../errors.ts";
import type { OpenFrameSourceOptions } from "../io/open_source.ts";
import { type BackpressurePolicy, parseBackpressurePolicy } from "../pipeline/backpressure.ts";

/** Queue length `--rate max` implies when no `--backpressure` is given (bounds the memory of frames waiting). */
export const MAX_RATE_QUEUE = 10_000;

/**
 * Source options of --rate R: `recorded` (default), `max`, `Nx` (recorded rate times N: dataset:, bag:, mcap:) or
 * frames per second (dataset:, bag:, mcap:, sim).
 */
export function sourceOptions(action: string, rate: string | undefined): OpenFrameSourceOptions {
  if (rate === undefined || rate === "recorded") return {};
  if (rate === "max") return { replay: { rate: "max" }, simulator: { rate: 0 }, recorded: { rate: "max" } };
  const factor = /^([0-9.]+)x$/i.exec(rate);
  if (factor) {
    const speed = Number(factor[1]);
    if (!(speed >= 1e-3 && speed <= 1e4)) {
      throw invalid(action, "rate", "a speed factor Nx with N in [0.001, 10000]", rate);
    }
    return { replay: { speed }, recorded: { speed } };
  }
  const fps = Number(rate);
  if (!(fps > 0 && fps <= 10000)) {
    throw invalid(
      action,
      "rate",
      "recorded, max or frames per second in (0, 10000], or a speed factor Nx",
      rate,
    );
  }
  return { replay: { rate: fps }, simulator: { rate: fps }, recorded: { rate: fps } };
}

/** The policy for --backpressure P (undefined: not given) at --rate R, with a note when --rate max chose it. */
export function streamPolicy(
  backpressure: string | undefined,
  rate: string | undefined,
): { policy: BackpressurePolicy; note?: string } {
  if (backpressure !== undefined) return { policy: parseBackpressurePolicy(backpressure) };
  if (rate === "max") {
    return {
      policy: { kind: "queue", capacity: MAX_RATE_QUEUE },
      note: `--rate max: frames wait in a queue (queue:${MAX_RATE_QUEUE}) so that none is dropped; ` +
        `--backpressure latest processes only the newest instead`,
    };
  }
  return { policy: { kind: "latest" } };
}

/** A line announcing how a replayed source is paced (live sources are paced by their sender). */
export function describeRate(spec: string, rate: string | undefined): string | null {
  if (!/^(dataset:|bag:|mcap:|sim)/.test(spec)) return null;
  if (rate === undefined || rate === "recorded") {
    return spec.startsWith("sim")
      ? "replay rate: the simulator's own rate"
      : "replay rate: as recorded (a folder without stamps: 1 frame/s); --rate max, Nx or fps to change";
  }
  if (rate === "max") return "replay rate: as fast as frames can be read (--rate max)";
  if (/x$/i.test(rate)) return `replay rate: ${rate.slice(0, -1)} times the recorded rate`;
  return `replay rate: ${rate} frames/s`;
}
