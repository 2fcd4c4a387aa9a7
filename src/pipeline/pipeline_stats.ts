/**
 * The pipeline's running statistics: frame counters, error tally and the latencies of the newest frames (a
 * ring), turned into a `StatsEvent` on demand.
 *
 * @module
 */
import { quantileSorted } from "../kernels/stats.ts";
import type { ErrorEvent, StatsEvent } from "../types.ts";
import { ErrorTally } from "./error_tally.ts";

/** Frames whose latency the percentiles cover (the newest). */
export const LATENCY_WINDOW = 1000;

/** Counters and latencies of one run. */
export class PipelineStats {
  received = 0;
  processed = 0;
  dropped = 0;
  skipped = 0;
  readonly errors = new ErrorTally();
  #latencies: Float64Array;
  #count = 0;

  constructor(window = LATENCY_WINDOW) {
    this.#latencies = new Float64Array(window);
  }

  /** Count one error event. */
  addError(event: ErrorEvent): void {
    this.errors.add(event);
  }

  /** One frame's latency (frame in to estimate out), in ms; only the newest `window` are kept. */
  addLatency(ms: number): void {
    this.#latencies[this.#count++ % this.#latencies.length] = ms;
  }

  /** The stats event now: counts so far and, once a latency was recorded, p50, p90 and p99 of the window. */
  event(stamp: number, provider: string): StatsEvent {
    const n = Math.min(this.#count, this.#latencies.length);
    const ev: StatsEvent = {
      kind: "stats",
      stamp,
      received: this.received,
      processed: this.processed,
      dropped: this.dropped,
      skipped: this.skipped,
      errors: this.errors.total,
      errorsByCause: this.errors.byCause(),
      provider,
    };
    if (n > 0) {
      const sorted = this.#latencies.slice(0, n).sort();
      ev.latencyMs = {
        p50: quantileSorted(sorted, 0.5),
        p90: quantileSorted(sorted, 0.9),
        p99: quantileSorted(sorted, 0.99),
      };
    }
    return ev;
  }
}
