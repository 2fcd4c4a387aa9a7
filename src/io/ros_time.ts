/**
 * Exact ROS times: reading `header.stamp` in either shape (`{secs, nsecs}` ROS 1, `{sec, nanosec}` ROS 2) to an
 * `ExactTime`, writing it back in the shape of a ROS version, and the float seconds derived from it. Integer
 * arithmetic throughout, so that a stamp that goes in comes out unchanged.
 *
 * @example
 * ```ts
 * import { rosStamp, timeOfStamp } from "./ros_time.ts";
 * const t = timeOfStamp({ secs: 1700000000, nsecs: 123456789 })!;
 * console.assert(JSON.stringify(rosStamp(t, 2)) === '{"sec":1700000000,"nanosec":123456789}');
 * ```
 *
 * @module
 */
import { BridgeProtocolError } from "../errors.ts";
import type { ExactTime } from "../types.ts";

const NS = 1_000_000_000;

/**
 * `header.stamp` as an exact time; null when absent or zero (unset). Nanoseconds of 1e9 or more carry into the
 * seconds (some publishers do not normalise).
 * @throws BridgeProtocolError when it is not `{secs, nsecs}` / `{sec, nanosec}` non-negative integers.
 */
export function timeOfStamp(stamp: unknown): ExactTime | null {
  if (stamp === null || typeof stamp !== "object") return null;
  const s = stamp as Record<string, unknown>;
  const sec = s.secs ?? s.sec;
  const nanosec = s.nsecs ?? s.nanosec ?? 0;
  if (
    typeof sec !== "number" || typeof nanosec !== "number" || !Number.isSafeInteger(sec) ||
    !Number.isSafeInteger(nanosec) || sec < 0 || nanosec < 0
  ) {
    throw new BridgeProtocolError(
      `Cannot read header.stamp as it must be {secs, nsecs} or {sec, nanosec} non-negative integers: current ` +
        `value is ${JSON.stringify(stamp)}`,
    );
  }
  if (sec === 0 && nanosec === 0) return null;
  return normaliseTime(sec, nanosec);
}

/** `{sec, nanosec}` with nanosec in [0, 1e9). */
export function normaliseTime(sec: number, nanosec: number): ExactTime {
  return { sec: sec + Math.floor(nanosec / NS), nanosec: nanosec % NS };
}

/** Float seconds of an exact time (a convenience: not every nanosecond survives). */
export function secondsOf(t: ExactTime): number {
  return t.sec + t.nanosec / NS;
}

/** The exact time nearest to float seconds (for stamps that only ever were floats). */
export function timeOfSeconds(seconds: number): ExactTime {
  const sec = Math.floor(seconds);
  const nanosec = Math.round((seconds - sec) * NS);
  return nanosec >= NS ? { sec: sec + 1, nanosec: 0 } : { sec, nanosec };
}

/** A stamp in the shape of a ROS version: `{secs, nsecs}` (1) or `{sec, nanosec}` (2). */
export function rosStamp(
  t: ExactTime,
  rosVersion: 1 | 2,
): { secs: number; nsecs: number } | { sec: number; nanosec: number } {
  return rosVersion === 2 ? { sec: t.sec, nanosec: t.nanosec } : { secs: t.sec, nsecs: t.nanosec };
}

/** `1700000000.000000042`: seconds and all nine nanosecond digits, for names and messages. */
export function formatTime(t: ExactTime): string {
  return `${t.sec}.${String(t.nanosec).padStart(9, "0")}`;
}
