/**
 * Test helper: subscribe to a FrameSource's frames and events, collect them, and wait for conditions.
 * @module
 */
import type { Subscription } from "rxjs";
import type { CameraFrame } from "../../src/types.ts";
import type { FrameSource, SourceEvent } from "../../src/io/frame_source.ts";

/** Collected output of a source. */
export interface Collected {
  frames: CameraFrame[];
  events: SourceEvent[];
  errors: unknown[];
  completed: boolean;
  sub: Subscription;
  /** Poll (5 ms) until `pred` holds; throws after `timeoutMs`. */
  waitFor(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

/** Subscribe to events then frames of `source`. */
export function collect(source: FrameSource): Collected {
  const c = { frames: [], events: [], errors: [], completed: false } as unknown as Collected;
  const evSub = source.events().subscribe((e) => c.events.push(e));
  c.sub = source.frames().subscribe({
    next: (f) => c.frames.push(f),
    error: (e) => c.errors.push(e),
    complete: () => (c.completed = true),
  });
  c.sub.add(evSub);
  c.waitFor = (pred, what, timeoutMs = 4000) => waitFor(pred, what, timeoutMs);
  return c;
}

/** Poll until `pred` holds. */
export async function waitFor(pred: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The error events' class names, in order. */
export function errorNames(events: SourceEvent[]): string[] {
  return events.filter((e) => e.kind === "error").map((e) => (e as { error: string }).error);
}
