/**
 * The estimates as a TUM trajectory (`timestamp tx ty tz qx qy qz qw`, one pose a line, `#` header): each estimate
 * with a position (the map's places have positions) becomes a pose; the orientation is unknown and written as the
 * identity quaternion. Estimates without a position (lost, or a map without positions) are counted, not written.
 *
 * Timestamps are exact when the source records them (`CameraFrame.time`, bag and MCAP replays): feed the
 * frames to {@link StampBook.observe} and the sink writes `sec.nnnnnnnnn` instead of the float stamp.
 *
 * @example
 * ```ts ignore
 * const stamps = new StampBook();
 * const tum = await TumSink.create("run.tum", stamps);
 * localize(source.frames().pipe(tap((f) => stamps.observe(f))), options).events$.subscribe((e) => tum.write(e));
 * await tum.close();
 * ```
 * @module
 */
import type { CameraFrame, WaymarkEvent } from "../types.ts";
import { LineFile } from "./_line_file.ts";
import { type ExactStamp, formatExactStamp } from "./recorded_source.ts";

/** Remembers the exact stamps of frames by seq and by float stamp, so that exports can print them exactly. */
export class StampBook {
  private readonly bySeq = new Map<number, ExactStamp>();
  private readonly byFloat = new Map<number, ExactStamp>();
  /** At most this many stamps are kept (the oldest are forgotten first). */
  constructor(private readonly limit = 1_000_000) {}

  /** Record a frame's exact stamp (no-op for a frame without one). */
  observe(frame: CameraFrame): void {
    if (!frame.time) return;
    const exact = { sec: frame.time.sec, nsec: frame.time.nanosec };
    this.bySeq.set(frame.seq, exact);
    this.byFloat.set(frame.stamp, exact);
    for (const m of [this.bySeq, this.byFloat]) {
      if (m.size > this.limit) m.delete(m.keys().next().value!);
    }
  }

  /** The stamp of frame `seq` (exact when known, else `stamp` with nine decimals). */
  format(stamp: number, seq?: number): string {
    const exact = (seq !== undefined ? this.bySeq.get(seq) : undefined) ?? this.byFloat.get(stamp);
    return exact ? formatExactStamp(exact) : stamp.toFixed(9);
  }
}

/** Writes estimates as a TUM trajectory; see the module doc. */
export class TumSink {
  /** Estimates without a position (not written). */
  skipped = 0;
  private constructor(private readonly file: LineFile, private readonly stamps: StampBook) {}

  /** Create (truncate) the trajectory file. */
  static async create(path: string, stamps: StampBook = new StampBook()): Promise<TumSink> {
    const file = await LineFile.create(path);
    file.push("# timestamp tx ty tz qx qy qz qw (waymark estimates; orientation unknown: identity)");
    return new TumSink(file, stamps);
  }

  /** Poses written so far. */
  get poses(): number {
    return Math.max(0, this.file.written - 1);
  }

  /** Take one event (anything but a positioned estimate is ignored or counted). */
  write(e: WaymarkEvent): void {
    if (e.kind !== "estimate") return;
    const p = e.estimate.position;
    if (!p || e.estimate.placeId === null) {
      this.skipped++;
      return;
    }
    this.file.push(
      `${this.stamps.format(e.estimate.stamp, e.estimate.seq)} ${p.x} ${p.y} ${p.z ?? 0} 0 0 0 1`,
    );
  }

  /** Write the rest and close the file. */
  close(): Promise<void> {
    return this.file.close();
  }
}
