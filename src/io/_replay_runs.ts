/**
 * The shared run machinery of the sources that replay at their own pace (image-file replays, ROS bags, MCAP):
 * one run per subscription of the shared frames Observable, aborted when its subscriber leaves, and a
 * `close()` that completes every subscriber and waits for the runs to end.
 *
 * @module
 */
import { Observable, share, type Subscriber } from "rxjs";

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
