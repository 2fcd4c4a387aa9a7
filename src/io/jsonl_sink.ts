/**
 * Appends Waymark events to a file as JSON lines (one event per line, UTF-8, `\n`-terminated).
 *
 * Flush policy (`flush`):
 * - `"interval"` (default): buffered lines are written every `flushIntervalMs` (default 1000 ms);
 * - `"every"`: each event is written as soon as possible (writes are coalesced, one in flight at a time);
 * - `"close"`: written only by `flush()` and `close()`.
 * With `fsync: true` every write is followed by `fdatasync`, so that a crash loses nothing already flushed.
 *
 * Never blocks the caller: `write()` appends to an in-memory buffer; beyond `maxBufferedBytes` (default 16 MiB,
 * a disk that cannot keep up) new events are dropped and counted.
 *
 * @example
 * ```ts ignore
 * import { JsonlSink } from "./jsonl_sink.ts";
 * const sink = await JsonlSink.open("run/events.jsonl", { flush: "every" });
 * sink.attach(pipelineEvents$);
 * await sink.close();
 * ```
 *
 * @module
 */
import type { Observable, Subscription } from "rxjs";
import { invalid, requirePositiveInt, requireRange } from "../errors.ts";
import type { WaymarkEvent } from "../types.ts";

/** Options of {@link JsonlSink.open}. */
export interface JsonlSinkOptions {
  /** When buffered lines are written. Default `"interval"`. */
  flush?: "every" | "interval" | "close";
  /** Period of the `"interval"` policy. Default 1000 ms. */
  flushIntervalMs?: number;
  /** fdatasync after each write. Default false. */
  fsync?: boolean;
  /** Append to an existing file (true) or truncate it (false). Default true. */
  append?: boolean;
  /** Buffered bytes beyond which new events are dropped. Default 16 MiB. */
  maxBufferedBytes?: number;
}

/** Counters of a {@link JsonlSink}. */
export interface JsonlSinkStats {
  /** Lines written to the file. */
  written: number;
  /** Bytes written. */
  bytes: number;
  /** Events dropped because the buffer was full (or the sink closed). */
  dropped: number;
  /** Write failures (the lines of a failed write are lost and counted in `dropped`). */
  failures: number;
}

const encoder = new TextEncoder();

/** See module doc. */
export class JsonlSink {
  private lines: string[] = [];
  private bufferedBytes = 0;
  private writing: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private scheduled = false;
  private closed = false;
  private readonly counters: JsonlSinkStats = { written: 0, bytes: 0, dropped: 0, failures: 0 };
  /** The last write error, if any. */
  lastError: Error | null = null;

  private constructor(
    readonly path: string,
    private readonly file: Deno.FsFile,
    private readonly o: Required<JsonlSinkOptions>,
  ) {
    if (o.flush === "interval") this.timer = setInterval(() => void this.flush(), o.flushIntervalMs);
  }

  /**
   * Open (create) the file.
   * @throws ValidationError for invalid options; the file system's error when it cannot be opened.
   */
  static async open(path: string, options: JsonlSinkOptions = {}): Promise<JsonlSink> {
    const action = "write events as JSON lines";
    const flush = options.flush ?? "interval";
    if (!["every", "interval", "close"].includes(flush)) {
      throw invalid(action, "flush", "every, interval or close", flush);
    }
    const o: Required<JsonlSinkOptions> = {
      flush,
      flushIntervalMs: requireRange(action, "flushIntervalMs", options.flushIntervalMs ?? 1000, 1, 3_600_000),
      fsync: options.fsync ?? false,
      append: options.append ?? true,
      maxBufferedBytes: requirePositiveInt(
        action,
        "maxBufferedBytes",
        options.maxBufferedBytes ?? 16 * 1024 * 1024,
      ),
    };
    const st = await Deno.stat(path).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    });
    if (st?.isDirectory) throw invalid(action, "path", "a file to write, not a folder", path);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { create: true, write: true, append: o.append, truncate: !o.append });
    } catch (err) {
      // Keep the file system's error class, with the path in its message.
      if (err instanceof Error) err.message = `cannot open ${path} for writing: ${err.message}`;
      throw err;
    }
    return new JsonlSink(path, file, o);
  }

  /** Counters so far. */
  get stats(): JsonlSinkStats {
    return { ...this.counters };
  }

  /** Queue one event (never blocks). */
  write(event: WaymarkEvent): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    const line = JSON.stringify(event) + "\n";
    if (this.bufferedBytes + line.length > this.o.maxBufferedBytes) {
      this.counters.dropped++;
      return;
    }
    this.lines.push(line);
    this.bufferedBytes += line.length;
    if (this.o.flush === "every" && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
  }

  /** Write every event of `events$` until the returned subscription is unsubscribed. */
  attach(events$: Observable<WaymarkEvent>): Subscription {
    return events$.subscribe({ next: (e) => this.write(e) });
  }

  /** Write what is buffered (waits for a write in flight first). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    this.bufferedBytes = 0;
    this.writing = this.writeLines(lines).finally(() => (this.writing = null));
    await this.writing;
  }

  private async writeLines(lines: string[]): Promise<void> {
    const bytes = encoder.encode(lines.join(""));
    try {
      let off = 0;
      while (off < bytes.length) off += await this.file.write(bytes.subarray(off));
      if (this.o.fsync) await this.file.syncData();
      this.counters.written += lines.length;
      this.counters.bytes += bytes.length;
    } catch (err) {
      this.counters.failures++;
      this.counters.dropped += lines.length;
      this.lastError = err as Error;
    }
  }

  /** Flush, then close the file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true; // later write()s are dropped and counted
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    this.file.close();
  }
}
