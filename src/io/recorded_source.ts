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
import type { Subscriber } from "rxjs";
import { ReplayClock, ReplayingSource, type ReplayTiming, replayTiming } from "./_replay_runs.ts";
import { DatasetError, invalid } from "../errors.ts";
import { decodeRosImageFields } from "./ros_messages.ts";
import { deserializeRosImage, type RosWireFormat } from "./ros_serialization.ts";
import type { CameraFrame, EncodedImage, RawImage } from "../types.ts";

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

/**
 * Decode one serialised ROS image message (`sensor_msgs/CompressedImage` or `Image`, ROS 1 or CDR), keeping
 * the header stamp exact (null when it is zero).
 */
export function decodeRecordedRosImage(
  data: Uint8Array,
  kind: "compressed" | "raw",
  wire: RosWireFormat,
): RecordedImage {
  const fields = deserializeRosImage(data, kind, wire, false);
  const decoded = decodeRosImageFields(fields);
  const { sec, nanosec } = fields.header;
  return {
    image: decoded.image,
    stamp: sec === 0 && nanosec === 0 ? null : { sec, nsec: nanosec },
    frameId: decoded.frameId,
  };
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
  return replayTiming(action, options);
}

/** Replays recorded messages; see the module doc. */
export class RecordedSource extends ReplayingSource {
  private readonly timing: ReplayTiming;

  /**
   * @param name the spec (`bag:file#topic`), used as `source` of events and frames.
   * @param messages a fresh pass over the topic's messages in record order, one per run.
   * @param releaseFile called once by `close()` (closes the file).
   */
  constructor(
    readonly name: string,
    private readonly messages: () => AsyncIterable<RecordedMessage>,
    options: RecordedSourceOptions = {},
    private readonly releaseFile: () => Promise<void> = () => Promise.resolve(),
  ) {
    super();
    this.timing = replayTiming("replay a recording", options);
  }

  protected override async replay(subscriber: Subscriber<CameraFrame>, signal: AbortSignal): Promise<void> {
    const clock = new ReplayClock(this.timing);
    let log0: bigint | null = null;
    let index = 0;
    let seq = 0;
    for await (const msg of this.messages()) {
      if (signal.aborted) return;
      const i = index++;
      log0 ??= msg.logTimeNs;
      let rec: RecordedImage;
      try {
        rec = msg.decode();
      } catch (err) {
        this.reportError(err);
        continue;
      }
      await clock.waitFor(i, () => Number(msg.logTimeNs - log0!) / 1e6, signal);
      if (signal.aborted) return;
      const exact = rec.stamp ?? exactStampOfNs(msg.logTimeNs);
      this.emit(subscriber, {
        seq: seq++,
        stamp: exact.sec + exact.nsec * 1e-9,
        time: { sec: exact.sec, nanosec: exact.nsec },
        frameId: rec.frameId,
        image: rec.image,
        source: this.name,
      });
    }
  }

  protected override release(): Promise<void> {
    return this.releaseFile();
  }
}

/**
 * Open the recording at `path` and read its index with `read`; the errors name the file (`Cannot open the
 * <what> <path>`, `Cannot read <path> as <format>`), and the file is closed when `read` fails.
 * @throws DatasetError
 */
export async function openRecordingFile<T>(
  path: string,
  what: string,
  format: string,
  read: (file: RandomAccessFile) => Promise<T>,
): Promise<{ reader: T; file: RandomAccessFile }> {
  let file: RandomAccessFile;
  try {
    file = await RandomAccessFile.open(path);
  } catch (err) {
    throw new DatasetError(`Cannot open the ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
  try {
    return { reader: await read(file), file };
  } catch (err) {
    await file.close();
    throw new DatasetError(`Cannot read ${path} as ${format}: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
}

/**
 * The topic a container's reader chose for {@link openRecordedSource}: its name and a fresh pass over its
 * image messages; or, for a topic it cannot replay, what was expected and what was given (a usage error).
 */
export type TopicChoice =
  | { topic: string; messages: () => AsyncIterable<RecordedMessage> }
  | { expected: string; given: string };

/**
 * A recorded source over `topic` of the container file at `path` (`scheme`: `bag`, `mcap`): checks the
 * timing options, opens the file with `open`, asks `choose` for the topic (undefined: the file's only image
 * topic), and refuses a topic it cannot replay with a `ValidationError` (the file closed). The source closes
 * the file at `close()`.
 */
export async function openRecordedSource<T>(
  scheme: string,
  path: string,
  topic: string | undefined,
  options: RecordedSourceOptions,
  open: (path: string) => Promise<{ reader: T; file: RandomAccessFile }>,
  choose: (reader: T, topic: string | undefined) => TopicChoice,
): Promise<RecordedSource> {
  const action = `replay ${path}`;
  replayTiming(action, options);
  const { reader, file } = await open(path);
  let choice: TopicChoice;
  try {
    choice = choose(reader, topic);
  } catch (err) {
    await file.close();
    throw err;
  }
  if ("expected" in choice) {
    await file.close();
    throw invalid(action, "topic", choice.expected, choice.given);
  }
  return new RecordedSource(
    `${scheme}:${path}#${choice.topic}`,
    choice.messages,
    options,
    () => file.close(),
  );
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
