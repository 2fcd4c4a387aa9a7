/**
 * Replay of recorded image messages (ROS bag, MCAP) as a `FrameSource`. The container-specific readers
 * (`bag_source.ts`, `mcap_source.ts`) supply the messages in record order; this module does the timing, the
 * error reporting and the stamps.
 *
 * Timing is drift-free like the dataset replay: message `i` is due at `start + (logTime_i - logTime_0) / speed`
 * (`rate: "recorded"`), at `start + i / fps` (a number), or as fast as the file can be read (`"max"`). A late
 * frame is emitted late, never skipped (skipping is the pipeline's backpressure policy).
 *
 * Stamps are kept exactly: `CameraFrame.time` holds the header stamp's integer seconds and nanoseconds (the
 * record time when the header stamp is unset), and `stamp` is the same instant as a float.
 *
 * A message that cannot be decoded is a counted `ErrorEvent` (cause `source`) and the replay goes on.
 *
 * @module
 */
import { formatTime } from "./ros_time.ts";
import { type Observable, Subject, type Subscriber } from "rxjs";
import { ReplayRuns, sleepUnlessAborted } from "./_replay_runs.ts";
import { invalid, requireRange } from "../errors.ts";
import type { CameraFrame, EncodedImage, RawImage } from "../types.ts";
import {
  connectionEvent,
  errorEvent,
  type FrameSource,
  type SourceCounters,
  type SourceEvent,
} from "./frame_source.ts";

/** An exact stamp: integer seconds and nanoseconds (0..999,999,999). */
export interface ExactStamp {
  sec: number;
  nsec: number;
}

/** A decoded recorded image. */
export interface RecordedImage {
  image: EncodedImage | RawImage;
  /** Header stamp; null when the message has none or it is zero (the record time is used instead). */
  stamp: ExactStamp | null;
  frameId: string;
}

/** One recorded message, decoded on demand so that a malformed one becomes an error event. */
export interface RecordedMessage {
  /** Record (log) time in nanoseconds: drives the replay timing. */
  logTimeNs: bigint;
  /** Decode the message; throws a `WaymarkError` naming the problem for a malformed one. */
  decode(): RecordedImage;
}

/** Options of a recorded source (`bag:` and `mcap:` specs). */
export interface RecordedSourceOptions {
  /**
   * `"recorded"` (default): follow the record times divided by `speed`; a number: that many frames per second;
   * `"max"`: as fast as the file can be read.
   */
  rate?: "recorded" | "max" | number;
  /** Speed factor for `"recorded"` (2 = twice as fast). Default 1. */
  speed?: number;
}

/** Nanoseconds as an exact stamp. */
export function exactStampOfNs(ns: bigint): ExactStamp {
  const sec = ns / 1_000_000_000n;
  return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
}

/** An exact stamp as seconds with nine decimals (`1700000000.100012345`), with no float rounding. */
export function formatExactStamp(s: ExactStamp): string {
  return formatTime({ sec: s.sec, nanosec: s.nsec });
}

/** Check the rate and speed options; returns them with defaults. */
export function recordedTiming(
  action: string,
  options: RecordedSourceOptions,
): Required<RecordedSourceOptions> {
  const rate = options.rate ?? "recorded";
  if (rate !== "recorded" && rate !== "max" && !(typeof rate === "number" && rate > 0 && rate <= 10000)) {
    throw invalid(action, "rate", `"recorded", "max" or frames per second in (0, 10000]`, rate);
  }
  return { rate, speed: requireRange(action, "speed", options.speed ?? 1, 1e-3, 1e4) };
}

/** Replays recorded messages; see the module doc. */
export class RecordedSource implements FrameSource {
  readonly counters: SourceCounters = { frames: 0, errors: 0, connections: 0 };
  private readonly events$ = new Subject<SourceEvent>();
  private readonly runs = new ReplayRuns<CameraFrame>((subscriber, signal) => this.run(subscriber, signal));
  private readonly timing: Required<RecordedSourceOptions>;

  /**
   * @param name the spec (`bag:file#topic`), used as `source` of events and frames.
   * @param messages a fresh pass over the topic's messages in record order, one per run.
   * @param release called once by `close()` (closes the file).
   */
  constructor(
    readonly name: string,
    private readonly messages: () => AsyncIterable<RecordedMessage>,
    options: RecordedSourceOptions = {},
    private readonly release: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.timing = recordedTiming("replay a recording", options);
  }

  private async run(subscriber: Subscriber<CameraFrame>, signal: AbortSignal): Promise<void> {
    this.counters.connections++;
    this.events$.next(connectionEvent(this.name, "open"));
    const t0 = performance.now();
    let log0: bigint | null = null;
    let index = 0;
    let seq = 0;
    try {
      for await (const msg of this.messages()) {
        if (signal.aborted) return;
        const i = index++;
        log0 ??= msg.logTimeNs;
        let rec: RecordedImage;
        try {
          rec = msg.decode();
        } catch (err) {
          this.counters.errors++;
          this.events$.next(errorEvent(err, this.name));
          continue;
        }
        if (this.timing.rate !== "max") {
          const offsetMs = this.timing.rate === "recorded"
            ? Number(msg.logTimeNs - log0) / 1e6 / this.timing.speed
            : (i * 1000) / this.timing.rate;
          const wait = t0 + offsetMs - performance.now();
          if (wait > 0) await sleepUnlessAborted(wait, signal);
          if (signal.aborted) return;
        }
        const exact = rec.stamp ?? exactStampOfNs(msg.logTimeNs);
        const frame: CameraFrame = {
          seq: seq++,
          stamp: exact.sec + exact.nsec * 1e-9,
          time: { sec: exact.sec, nanosec: exact.nsec },
          frameId: rec.frameId,
          image: rec.image,
          source: this.name,
        };
        this.counters.frames++;
        subscriber.next(frame);
      }
    } finally {
      this.events$.next(connectionEvent(this.name, "closed"));
    }
  }

  frames(): Observable<CameraFrame> {
    return this.runs.frames$;
  }

  events(): Observable<SourceEvent> {
    return this.events$.asObservable();
  }

  async close(): Promise<void> {
    if (!(await this.runs.close())) return;
    await this.release().catch(() => {});
    this.events$.complete();
  }
}

/** A random-access reader over one file, reads serialised (the container readers may issue them concurrently). */
export class RandomAccessFile {
  private chain: Promise<unknown> = Promise.resolve();
  private constructor(private readonly file: Deno.FsFile, readonly size: number, readonly path: string) {}

  /** Open `path` for reading. */
  static async open(path: string): Promise<RandomAccessFile> {
    const file = await Deno.open(path, { read: true });
    try {
      const st = await file.stat();
      return new RandomAccessFile(file, st.size, path);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** `length` bytes from `offset`; throws at an early end of file. */
  read(offset: number, length: number): Promise<Uint8Array> {
    const p = this.chain.then(async () => {
      const out = new Uint8Array(length);
      await this.file.seek(offset, Deno.SeekMode.Start);
      let got = 0;
      while (got < length) {
        const n = await this.file.read(out.subarray(got));
        if (n === null) {
          throw new Error(`${this.path}: unexpected end of file reading ${length} bytes at ${offset}`);
        }
        got += n;
      }
      return out;
    });
    this.chain = p.catch(() => {});
    return p;
  }

  /** Close the file (idempotent). */
  async close(): Promise<void> {
    await this.chain;
    try {
      this.file.close();
    } catch { /* already closed */ }
  }
}
