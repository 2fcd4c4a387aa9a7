/**
 * The `FrameSource` contract suite (see `src/io/frame_source.ts`), run against every implementation:
 * `frameSourceContract("websocket", makeHarness)` registers one Deno test per clause. Add a new source by
 * writing a harness: how to make the source produce frames, and (when it has a way) a malformed message.
 * @module
 */
import assert from "node:assert/strict";
import type { FrameSource } from "../../src/io/frame_source.ts";
import type { CameraFrame } from "../../src/types.ts";
import { collect } from "./_collect.ts";

/** How the contract drives one implementation. */
export interface FrameSourceHarness {
  source: FrameSource;
  /** Make the source deliver at least `n` more frames to a subscribed consumer (no-op for self-driven sources). */
  produce(n: number): Promise<void> | void;
  /** Make the source receive one malformed message (absent when the implementation has no such input). */
  injectBad?: () => Promise<void> | void;
  /** For sources that end by themselves: how many frames they produce in all. */
  finite?: number;
  /** Release the fakes behind the source (servers, temp files). */
  dispose(): Promise<void>;
}

function assertFrameShape(f: CameraFrame, label: string): void {
  assert.ok(Number.isInteger(f.seq) && f.seq >= 0, `${label}: seq`);
  assert.ok(Number.isFinite(f.stamp), `${label}: stamp`);
  assert.equal(typeof f.frameId, "string", `${label}: frameId`);
  assert.ok(f.image.kind === "encoded" || f.image.kind === "raw", `${label}: image.kind`);
  assert.ok(f.image.data instanceof Uint8Array && f.image.data.length > 0, `${label}: image.data`);
  if (f.image.kind === "raw") {
    assert.equal(f.image.data.length, f.image.step * f.image.height, `${label}: raw size`);
  }
}

/** Register the contract's tests for one implementation. */
export function frameSourceContract(
  label: string,
  make: () => Promise<FrameSourceHarness>,
  options: { ignore?: boolean } = {},
): void {
  const test = (name: string, fn: (h: FrameSourceHarness) => Promise<void>) =>
    Deno.test({
      name: `FrameSource contract (${label}): ${name}`,
      ignore: options.ignore,
      async fn() {
        const h = await make();
        try {
          await fn(h);
        } finally {
          await h.source.close();
          await h.dispose();
        }
      },
    });

  test("frames have increasing seq from 0, a finite stamp and image bytes; counters agree", async (h) => {
    const c = collect(h.source);
    const n = h.finite ?? 3;
    await h.produce(n);
    await c.waitFor(() => c.frames.length >= n, `${n} frames`);
    c.frames.forEach((f, i) => {
      assertFrameShape(f, `frame ${i}`);
      assert.equal(f.seq, i);
    });
    assert.equal(h.source.counters.frames, c.frames.length);
    assert.ok(h.source.counters.connections >= 1);
    assert.ok(typeof h.source.name === "string" && h.source.name.length > 0);
    c.sub.unsubscribe();
  });

  test("connection events name the source and start with a state change", async (h) => {
    const c = collect(h.source);
    await h.produce(1);
    await c.waitFor(() => c.frames.length >= 1, "a frame");
    const conn = c.events.filter((e) => e.kind === "connection");
    assert.ok(conn.length >= 1);
    for (const e of conn) {
      assert.equal(e.kind === "connection" && e.source, h.source.name);
      assert.ok(Number.isFinite(e.stamp));
    }
    assert.ok(conn.some((e) => e.kind === "connection" && e.state === "open"));
    c.sub.unsubscribe();
  });

  test("a malformed message is a counted error event and the stream continues", async (h) => {
    if (!h.injectBad) return; // this implementation has no malformed input
    const c = collect(h.source);
    await h.produce(1);
    await c.waitFor(() => c.frames.length >= 1, "a frame");
    await h.injectBad();
    await c.waitFor(() => c.events.some((e) => e.kind === "error"), "the error event");
    const err = c.events.find((e) => e.kind === "error");
    assert.ok(err?.kind === "error" && err.error.length > 0 && err.message.length > 0);
    assert.equal(err?.kind === "error" && err.source, h.source.name);
    assert.equal(h.source.counters.errors, 1);
    const before = c.frames.length;
    await h.produce(1);
    await c.waitFor(() => c.frames.length > before, "a frame after the bad message");
    assert.equal(c.errors.length, 0, "frames() did not error");
    c.sub.unsubscribe();
  });

  test("two subscribers share one run; close() completes frames() and events() and is idempotent", async (h) => {
    const a = collect(h.source);
    const b = collect(h.source);
    await h.produce(2);
    await a.waitFor(() => a.frames.length >= 2 && b.frames.length >= 2, "frames on both");
    assert.equal(h.source.counters.connections, 1);
    assert.deepEqual(a.frames.slice(0, 2).map((f) => f.seq), b.frames.slice(0, 2).map((f) => f.seq));
    let eventsDone = false;
    h.source.events().subscribe({ complete: () => (eventsDone = true) });
    await h.source.close();
    await h.source.close();
    assert.ok(a.completed && b.completed, "frames() completed");
    assert.ok(eventsDone, "events() completed");
    const late = collect(h.source);
    assert.ok(late.completed, "frames() after close completes at once");
    a.sub.unsubscribe();
    b.sub.unsubscribe();
    late.sub.unsubscribe();
  });
}
