/**
 * The shared run machinery of the sources that replay at their own pace (image-file replays, ROS bags, MCAP):
 * one run per subscription of the shared frames Observable, aborted when its subscriber leaves, and a
 * `close()` that completes every subscriber and waits for the runs to end; the rate and speed options and
 * the drift-free clock that paces each run; and {@link ReplayingSource}, the `FrameSource` shell (counters,
 * connection and error events) the replays fill with their own reading and decoding.
 *
 * @module
 */
import { Observable, share, Subject, type Subscriber } from "rxjs";
import { invalid, requireRange } from "../errors.ts";
import type { CameraFrame } from "../types.ts";
import {
  connectionEvent,
  errorEvent,
  type FrameSource,
  type SourceCounters,
  type SourceEvent,
} from "./frame_source.ts";

/** Runs of a replaying source; `run` is called once per (shared) subscription with an abort signal. */
export class ReplayRuns<T> {
  /** The shared frames: subscribing starts a run (once while subscribed), completing when the run ends. */
  readonly frames$: Observable<T>;
  readonly #active = new Set<Subscriber<T>>();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(run: (subscriber: Subscriber<T>, signal: AbortSignal) => Promise<void>) {
    this.frames$ = new Observable<T>((subscriber) => {
      if (this.#closed) {
        subscriber.complete();
        return;
      }
      const abort = new AbortController();
      this.#active.add(subscriber);
      const p: Promise<void> = run(subscriber, abort.signal).then(
        () => subscriber.complete(),
        (err) => {
          if (!abort.signal.aborted) subscriber.error(err);
        },
      ).finally(() => this.#running.delete(p));
      this.#running.add(p);
      return () => {
        abort.abort();
        this.#active.delete(subscriber);
      };
    }).pipe(share());
  }

  /** Complete every subscriber and wait for the runs to end; false when already closed (nothing done). */
  async close(): Promise<boolean> {
    if (this.#closed) return false;
    this.#closed = true;
    for (const s of [...this.#active]) s.complete();
    this.#active.clear();
    await Promise.allSettled([...this.#running]);
    return true;
  }
}

/** Wait `ms`, or less when `signal` aborts first (never rejects). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The pace of a replay (the `rate` and `speed` options of the dataset and recorded sources). */
export interface ReplayTiming {
  /**
   * `"recorded"`: follow the recorded times divided by `speed`; a number: that many frames per second;
   * `"max"`: as fast as the input can be read.
   */
  rate: "recorded" | "max" | number;
  /** Speed factor for `"recorded"` (2 = twice as fast). */
  speed: number;
}

/** Check the rate and speed options for `action`; returns them with defaults (`"recorded"`, 1). */
export function replayTiming(action: string, options: Partial<ReplayTiming>): ReplayTiming {
  const rate = options.rate ?? "recorded";
  if (rate !== "recorded" && rate !== "max" && !(typeof rate === "number" && rate > 0 && rate <= 10000)) {
    throw invalid(action, "rate", `"recorded", "max" or frames per second in (0, 10000]`, rate);
  }
  return { rate, speed: requireRange(action, "speed", options.speed ?? 1, 1e-3, 1e4) };
}

/**
 * The drift-free clock of one run: item `i` is due at `start + recorded offset / speed` (`"recorded"`),
 * `start + i / fps` (a number), or at once (`"max"`). A late item is due at once, never skipped.
 */
export class ReplayClock {
  readonly #t0 = performance.now();
  constructor(private readonly timing: ReplayTiming) {}

  /**
   * Wait until item `index`, recorded `recordedMs` after the first one, is due (or `signal` aborts).
   * `recordedMs` is read only at the recorded rate.
   */
  async waitFor(index: number, recordedMs: () => number, signal: AbortSignal): Promise<void> {
    const { rate, speed } = this.timing;
    if (rate === "max") return;
    const offsetMs = rate === "recorded" ? recordedMs() / speed : (index * 1000) / rate;
    const wait = this.#t0 + offsetMs - performance.now();
    if (wait > 0) await sleepUnlessAborted(wait, signal);
  }
}

/**
 * A `FrameSource` that replays at its own pace: one run per subscription ({@link ReplayRuns}) between an
 * `open` and a `closed` connection event, counted frames and errors. A subclass names itself and implements
 * {@link ReplayingSource.replay}, handing frames to {@link ReplayingSource.emit} and skipped items to
 * {@link ReplayingSource.reportError}; `release` frees what it holds at `close()`.
 */
export abstract class ReplayingSource implements FrameSource {
  abstract readonly name: string;
  readonly counters: SourceCounters = { frames: 0, errors: 0, connections: 0 };
  readonly #events$ = new Subject<SourceEvent>();
  readonly #runs = new ReplayRuns<CameraFrame>(async (subscriber, signal) => {
    this.counters.connections++;
    this.#events$.next(connectionEvent(this.name, "open"));
    try {
      await this.replay(subscriber, signal);
    } finally {
      this.#events$.next(connectionEvent(this.name, "closed"));
    }
  });

  /** One run: read, pace and emit every item; return early when `signal` aborts. */
  protected abstract replay(subscriber: Subscriber<CameraFrame>, signal: AbortSignal): Promise<void>;

  /** Emit a frame (counted). */
  protected emit(subscriber: Subscriber<CameraFrame>, frame: CameraFrame): void {
    this.counters.frames++;
    subscriber.next(frame);
  }

  /** Report an item that is skipped as a counted error event; the replay goes on. */
  protected reportError(err: unknown): void {
    this.counters.errors++;
    this.#events$.next(errorEvent(err, this.name));
  }

  /** Free what the source holds (called once by `close()`, after the runs ended). */
  protected release(): Promise<void> {
    return Promise.resolve();
  }

  frames(): Observable<CameraFrame> {
    return this.#runs.frames$;
  }

  events(): Observable<SourceEvent> {
    return this.#events$.asObservable();
  }

  async close(): Promise<void> {
    if (!(await this.#runs.close())) return;
    await this.release().catch(() => {});
    this.#events$.complete();
  }
}
