/**
 * Error counting for stats: one tally per stream, fed with every `ErrorEvent` the stream emits, so that
 * `StatsEvent.errors` and `errorsByCause` match the error events one for one.
 * @module
 */
import type { ErrorEvent, StatsEvent } from "../types.ts";

/** Running count of error events, in total and by `ErrorEvent.cause`. */
export class ErrorTally {
  #total = 0;
  #byCause: Record<string, number> = {};

  /** Count one error event (an event without a cause counts as `"other"`). */
  add(event: ErrorEvent): void {
    const cause = event.cause ?? "other";
    this.#total++;
    this.#byCause[cause] = (this.#byCause[cause] ?? 0) + 1;
  }

  /** Error events counted so far. */
  get total(): number {
    return this.#total;
  }

  /** A copy of the counts by cause. */
  byCause(): Record<string, number> {
    return { ...this.#byCause };
  }

  /** `stats` with this tally's counts added to its own (`errors` and `errorsByCause`). */
  addTo(stats: StatsEvent): StatsEvent {
    if (this.#total === 0) return stats;
    const byCause = { ...(stats.errorsByCause ?? {}) };
    for (const [cause, n] of Object.entries(this.#byCause)) byCause[cause] = (byCause[cause] ?? 0) + n;
    return { ...stats, errors: stats.errors + this.#total, errorsByCause: byCause };
  }
}
