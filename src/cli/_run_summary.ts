/**
 * What a streaming command prints at the end of a run (frames, estimates by status, loops, errors, drops, rate)
 * and how often it prints the pipeline's stats lines (every few seconds, not each one).
 * @module
 */
import type { StatsEvent, WaymarkEvent } from "../types.ts";

/** Seconds between two printed stats lines. */
export const STATS_PERIOD_S = 5;

/** Counts the events of a run; see the module doc. */
export class RunSummary {
  private readonly t0 = performance.now();
  private lastStatsPrint = -Infinity;
  private lastStats: StatsEvent | null = null;
  private lastStatsPrinted = false;
  private readonly status: Record<string, number> = {};
  private estimates = 0;
  private loops = 0;
  private errors = 0;
  private latencies: number[] = [];

  /** Count one event. */
  observe(e: WaymarkEvent): void {
    if (e.kind === "estimate") {
      this.estimates++;
      this.status[e.estimate.status] = (this.status[e.estimate.status] ?? 0) + 1;
      if (this.latencies.length < 1_000_000) this.latencies.push(e.latencyMs);
    } else if (e.kind === "loop") this.loops++;
    else if (e.kind === "error") this.errors++;
    else if (e.kind === "stats") {
      this.lastStats = e;
      this.lastStatsPrinted = false;
    }
  }

  /** The last stats event when it was not printed (to print it at the end: the final counts). */
  unprintedStats(): StatsEvent | null {
    return this.lastStatsPrinted ? null : this.lastStats;
  }

  /** True when a stats line should be printed now (the first, then one every {@link STATS_PERIOD_S}). */
  statsDue(now = performance.now()): boolean {
    if (now - this.lastStatsPrint < STATS_PERIOD_S * 1000) return false;
    this.lastStatsPrint = now;
    this.lastStatsPrinted = true;
    return true;
  }

  /** The summary lines. */
  lines(now = performance.now()): string[] {
    const secs = (now - this.t0) / 1000;
    const st = this.lastStats;
    const by = Object.entries(this.status).map(([k, n]) => `${k} ${n}`).join(", ");
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
    const out = [
      `summary: ${this.estimates} estimates${
        by ? ` (${by})` : ""
      }, ${this.loops} loop closures, ${this.errors} errors ` +
      `in ${secs.toFixed(1)} s (${(this.estimates / Math.max(secs, 1e-3)).toFixed(1)} frames/s)`,
    ];
    if (st && st.dropped > 0) {
      out.push(
        `summary: ${st.dropped} frames dropped by the backpressure policy (--backpressure queue:N keeps them)`,
      );
    }
    if (sorted.length) {
      out.push(`summary: latency p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms`);
    }
    return out;
  }
}
