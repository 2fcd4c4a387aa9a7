/**
 * Dataset replay as a `FrameSource`: a list of `{path, stamp?, position?}` entries (the `DatasetImage` rows of
 * `src/dataset/` readers fit as they are) played back at the recorded rate (optionally sped up), at a fixed
 * frame rate, or as fast as possible. Files are read lazily, one ahead of its due time, so memory stays flat.
 *
 * Timing is drift-free: entry `i` is due at `start + (stamp_i - stamp_0) / speed` (recorded) or `start + i / fps`;
 * a frame whose file took longer to read than its slot is emitted late, never skipped (skipping is the
 * pipeline's backpressure policy, not the source's).
 *
 * A missing or unreadable file is a counted `ErrorEvent` (DatasetError) and the replay goes on, unless
 * `failOnMissing` is set, which errors the stream. `frames()` completes after the last entry.
 *
 * @example
 * ```ts ignore
 * import { replaySource } from "./replay_source.ts";
 * const src = replaySource([{ path: "/data/q/0001.jpg", stamp: 0 }, { path: "/data/q/0002.jpg", stamp: 0.5 }],
 *   { rate: "recorded", speed: 2 });
 * src.frames().subscribe((f) => console.log(f.seq, f.stamp, f.source));
 * ```
 *
 * @module
 */
import type { Subscriber } from "rxjs";
import { ReplayClock, ReplayingSource, type ReplayTiming, replayTiming } from "./_replay_runs.ts";
import { DatasetError, requireRange } from "../errors.ts";
import type { CameraFrame, Position } from "../types.ts";

/** One image to replay. `DatasetImage` from `src/dataset/` is accepted as is. */
export interface ReplayEntry {
  /** Image file path (absolute, or relative to the working directory). */
  path: string;
  /** Seconds; absent means evenly spaced at `fps` (default 10). */
  stamp?: number;
  /** Ground-truth or recorded position, passed on as `CameraFrame.position`. */
  position?: Position;
}

/** Options of {@link replaySource}. */
export interface ReplaySourceOptions {
  /**
   * `"recorded"` (default): follow the entries' stamps divided by `speed`; a number: that many frames per second;
   * `"max"`: as fast as files can be read.
   */
  rate?: "recorded" | "max" | number;
  /** Speed factor for `"recorded"` (2 = twice as fast). Default 1. */
  speed?: number;
  /** Frame rate assumed for entries without a stamp. Default 10. */
  fps?: number;
  /** Error the stream on a missing/unreadable file instead of reporting it and going on. Default false. */
  failOnMissing?: boolean;
  /** Name used as `source` of events. Default `"replay"`. */
  name?: string;
}

function formatOfPath(path: string): string {
  const p = path.toLowerCase();
  if (p.endsWith(".jpg") || p.endsWith(".jpeg")) return "jpeg";
  if (p.endsWith(".png")) return "png";
  return "auto";
}

/** Replays files; see the module doc. */
export class ReplaySource extends ReplayingSource {
  readonly name: string;
  private readonly timing: ReplayTiming;
  private readonly fps: number;
  private readonly failOnMissing: boolean;

  constructor(
    private readonly entries: Iterable<ReplayEntry> | AsyncIterable<ReplayEntry>,
    options: ReplaySourceOptions = {},
  ) {
    super();
    const action = "replay a dataset";
    this.timing = replayTiming(action, options);
    this.fps = requireRange(action, "fps", options.fps ?? 10, 1e-3, 1e4);
    this.failOnMissing = options.failOnMissing ?? false;
    this.name = options.name ?? "replay";
  }

  protected override async replay(subscriber: Subscriber<CameraFrame>, signal: AbortSignal): Promise<void> {
    const clock = new ReplayClock(this.timing);
    let s0: number | null = null;
    let i = 0;
    let seq = 0;
    for await (const entry of this.entries) {
      if (signal.aborted) return;
      const index = i++;
      const stamp = typeof entry.stamp === "number" && Number.isFinite(entry.stamp)
        ? entry.stamp
        : index / this.fps;
      s0 ??= stamp;
      let data: Uint8Array;
      try {
        if (typeof entry.path !== "string") throw new Error("'path' must be a string");
        data = await Deno.readFile(entry.path, { signal });
      } catch (err) {
        if (signal.aborted) return;
        const e = new DatasetError(
          `Cannot replay ${entry.path} as it cannot be read: ${(err as Error).message}`,
          {
            cause: err,
            context: { file: entry.path },
          },
        );
        if (this.failOnMissing) throw e;
        this.reportError(e);
        continue;
      }
      await clock.waitFor(index, () => (stamp - s0!) * 1000, signal);
      if (signal.aborted) return;
      const frame: CameraFrame = {
        seq: seq++,
        stamp,
        frameId: "",
        image: { kind: "encoded", format: formatOfPath(entry.path), data },
        source: entry.path,
      };
      if (entry.position) frame.position = entry.position;
      this.emit(subscriber, frame);
    }
  }
}

/**
 * Create a replay source.
 * @throws ValidationError for invalid options.
 */
export function replaySource(
  entries: Iterable<ReplayEntry> | AsyncIterable<ReplayEntry>,
  options: ReplaySourceOptions = {},
): ReplaySource {
  return new ReplaySource(entries, options);
}
